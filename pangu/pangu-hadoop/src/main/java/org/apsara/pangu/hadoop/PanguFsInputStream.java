package org.apsara.pangu.hadoop;

import java.io.IOException;
import org.apache.hadoop.fs.FSInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apsara.pangu.client.PanguInputStream;

/**
 * Hadoop's view of a {@link PanguInputStream}: {@link org.apache.hadoop.fs.Seekable} and
 * {@link org.apache.hadoop.fs.PositionedReadable}, counting bytes read in the file system's
 * statistics. Seeking past the end throws {@link java.io.EOFException}; every call on a closed
 * stream throws {@link IOException}. Threading as the wrapped stream (synchronized).
 */
final class PanguFsInputStream extends FSInputStream {
  private final PanguInputStream in;
  private final FileSystem.Statistics statistics;

  PanguFsInputStream(PanguInputStream in, FileSystem.Statistics statistics) {
    this.in = in;
    this.statistics = statistics;
  }

  @Override
  public void seek(long pos) throws IOException {
    in.seek(pos);
  }

  @Override
  public long getPos() throws IOException {
    return in.getPos();
  }

  /** There is no other source to switch to: a read already fails over between replicas. */
  @Override
  public boolean seekToNewSource(long targetPos) {
    return false;
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b >= 0) {
      count(1);
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    count(n);
    return n;
  }

  @Override
  public int read(long position, byte[] buffer, int offset, int length) throws IOException {
    validatePositionedReadArgs(position, buffer, offset, length);
    int n = in.read(position, buffer, offset, length);
    count(n);
    return n;
  }

  @Override
  public void readFully(long position, byte[] buffer, int offset, int length)
      throws IOException {
    validatePositionedReadArgs(position, buffer, offset, length);
    in.readFully(position, buffer, offset, length);
    count(length);
  }

  @Override
  public long skip(long n) throws IOException {
    return in.skip(n);
  }

  @Override
  public int available() throws IOException {
    return in.available();
  }

  @Override
  public void close() {
    in.close();
  }

  private void count(int n) {
    if (n > 0 && statistics != null) {
      statistics.incrementBytesRead(n);
    }
  }
}
