package org.apsara.pangu.hadoop;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.contract.AbstractFSContract;

/**
 * Hadoop's file system contract for {@code pangu://}: the options in {@code contract/pangu.xml},
 * run against the shared in-process {@link PanguTestCluster}.
 */
final class PanguContract extends AbstractFSContract {
  static final String CONTRACT_XML = "contract/pangu.xml";

  PanguContract(Configuration conf) {
    super(conf);
    addConfResource(CONTRACT_XML);
  }

  @Override
  public FileSystem getTestFileSystem() throws IOException {
    return FileSystem.get(PanguTestCluster.shared().uri(), getConf());
  }

  @Override
  public String getScheme() {
    return PanguFileSystem.SCHEME;
  }

  @Override
  public Path getTestPath() {
    return new Path("/test");
  }
}
