package org.apsara.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class LogRecorderTest {
  private static final Logger LOG = LoggerFactory.getLogger("org.apsara.testkit.recorded.child");

  @Test
  void countsWhatTheLoggerAndItsChildrenLogWhileOpen() {
    LogRecorder recorder = LogRecorder.of("org.apsara.testkit.recorded");
    LOG.warn("disk {} is full", "d1");
    LOG.error("disk {} is full", "d2");
    LOG.warn("something else");
    recorder.close();
    LOG.warn("disk d3 is full");

    assertThat(recorder.count("is full")).isEqualTo(2);
    assertThat(recorder.count("d2 is full")).isEqualTo(1);
  }
}
