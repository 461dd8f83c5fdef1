package org.apsara.pangu.hadoop;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import org.apache.hadoop.fs.StreamCapabilities;
import org.apache.hadoop.fs.Syncable;
import org.apsara.pangu.client.PanguException;
import org.apsara.pangu.client.PanguOutputStream;

/**
 * Hadoop's view of a {@link PanguOutputStream}: {@link Syncable} with both hflush and hsync
 * (which are the same in Pangu: bytes are acknowledged once synced on every replica), and
 * Pangu's error codes turned into Hadoop's exception types. Threading as the wrapped stream.
 */
final class PanguFsOutputStream extends OutputStream implements Syncable, StreamCapabilities {
  private final PanguOutputStream out;

  PanguFsOutputStream(PanguOutputStream out) {
    this.out = out;
  }

  PanguOutputStream unwrap() {
    return out;
  }

  @Override
  public void write(int b) throws IOException {
    try {
      out.write(b);
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    try {
      out.write(b, off, len);
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void hflush() throws IOException {
    try {
      out.hflush();
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public void hsync() throws IOException {
    try {
      out.hsync();
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public boolean hasCapability(String capability) {
    return switch (capability.toLowerCase(Locale.ROOT)) {
      // The names of StreamCapabilities.HFLUSH (deprecated there) and HSYNC.
      case "hflush", StreamCapabilities.HSYNC -> true;
      default -> false;
    };
  }

  @Override
  public void close() throws IOException {
    try {
      out.close();
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }
}
