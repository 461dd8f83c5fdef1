/** Parsing configuration values the same way in every service and command. */
package org.apsara.common.config;
