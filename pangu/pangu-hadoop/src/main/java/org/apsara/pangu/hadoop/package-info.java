/**
 * Pangu under Hadoop's {@code FileSystem} API: {@link org.apsara.pangu.hadoop.PanguFileSystem},
 * scheme {@code pangu}, registered through {@code META-INF/services}; settings in {@link
 * org.apsara.pangu.hadoop.PanguConfigKeys}.
 */
package org.apsara.pangu.hadoop;
