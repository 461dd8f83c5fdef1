package org.apsara.pangu.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.CommonPathCapabilities;
import org.apache.hadoop.fs.ContentSummary;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PathIsNotEmptyDirectoryException;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.impl.PathCapabilitiesSupport;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.DirectoryListing;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.client.PanguErrorCode;
import org.apsara.pangu.client.PanguException;
import org.apsara.pangu.client.PanguOutputStream;
import org.apsara.security.sign.AccessKeyCredentials;

/**
 * Pangu as a Hadoop {@link FileSystem}, scheme {@code pangu}: every call maps onto a {@link
 * PanguClient}, with the return values and exceptions HDFS gives, which the contract
 * {@code contract/pangu.xml} in the tests declares:
 * <ul>
 *   <li>a missing path is a {@link FileNotFoundException}; an existing target a {@link
 *       FileAlreadyExistsException}; a file where a directory must be a {@link
 *       org.apache.hadoop.fs.ParentNotDirectoryException}; a non-recursive delete of a
 *       non-empty directory a {@link PathIsNotEmptyDirectoryException};
 *   <li>{@link #rename} returns {@code false} when the source is missing, the destination exists
 *       as a file (or as an entry of the destination directory), or its parent is missing; a
 *       directory destination receives the source inside it; renaming a directory into its own
 *       subtree throws;
 *   <li>{@link #delete} of a missing path returns {@code false}; the root is never deleted
 *       ({@code false});
 *   <li>output streams are {@link org.apache.hadoop.fs.Syncable} (hflush and hsync both make
 *       the bytes durable on every replica and visible to readers); input streams are seekable
 *       and positioned-readable, and refuse seeking past the end.
 * </ul>
 * How a URI names the master group, and the settings, are in {@link PanguConfigKeys}. New
 * files and directories get the permission passed, less the configured umask.
 *
 * <p>Thread-safe, like every Hadoop file system: one instance (one {@link PanguClient}) serves
 * the whole process through {@link FileSystem#get}'s cache.
 */
public class PanguFileSystem extends FileSystem {
  public static final String SCHEME = "pangu";
  /**
   * The master's bounds on a chunk size; a Hadoop block size outside them is brought inside,
   * as callers (tests, small-file tools) pass sizes like 1 KiB that HDFS would also refuse.
   */
  static final long CHUNK_SIZE_MIN_BYTES = 4096;
  static final long CHUNK_SIZE_MAX_BYTES = 1L << 30;

  private URI uri;
  private PanguClient client;
  private Path workingDirectory;
  private long defaultChunkSizeBytes;
  private short defaultReplication;

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public void initialize(URI name, Configuration conf) throws IOException {
    super.initialize(name, conf);
    setConf(conf);
    String authority = name.getAuthority() == null ? "" : name.getAuthority();
    List<HostPort> masters = masters(authority, conf);
    this.uri = URI.create(SCHEME + "://" + authority);
    this.defaultChunkSizeBytes = conf.getLong(PanguConfigKeys.CHUNK_SIZE,
        PanguConfigKeys.CHUNK_SIZE_DEFAULT);
    this.defaultReplication = (short) conf.getInt(PanguConfigKeys.REPLICATION,
        PanguConfigKeys.REPLICATION_DEFAULT);
    PanguClientConfig.Builder config = PanguClientConfig.builder(masters)
        .operationTimeout(PanguConfigKeys.millis(conf.getLong(
            PanguConfigKeys.OPERATION_TIMEOUT_MS, PanguConfigKeys.OPERATION_TIMEOUT_MS_DEFAULT),
            PanguConfigKeys.OPERATION_TIMEOUT_MS))
        .replicaAckTimeout(PanguConfigKeys.millis(conf.getLong(
            PanguConfigKeys.REPLICA_ACK_TIMEOUT_MS,
            PanguConfigKeys.REPLICA_ACK_TIMEOUT_MS_DEFAULT),
            PanguConfigKeys.REPLICA_ACK_TIMEOUT_MS))
        .clientHost(conf.getTrimmed(PanguConfigKeys.CLIENT_HOST, ""));
    credentials(conf).ifPresent(key -> config.credentials(key,
        conf.getTrimmed(PanguConfigKeys.REGION, PanguConfigKeys.REGION_DEFAULT)));
    this.client = PanguClient.connect(config.build());
    this.workingDirectory = getHomeDirectory();
  }

  /** The AccessKey the configuration names, if any; both halves or neither. */
  static Optional<AccessKeyCredentials> credentials(Configuration conf) throws IOException {
    String id = conf.getTrimmed(PanguConfigKeys.ACCESS_KEY_ID, "");
    char[] secret = conf.getPassword(PanguConfigKeys.ACCESS_KEY_SECRET);
    if (id.isEmpty() && secret == null) {
      return Optional.empty();
    }
    if (id.isEmpty() || secret == null || secret.length == 0) {
      throw new IOException("set both " + PanguConfigKeys.ACCESS_KEY_ID + " and "
          + PanguConfigKeys.ACCESS_KEY_SECRET + ", or neither for a cluster without"
          + " authentication");
    }
    try {
      return Optional.of(new AccessKeyCredentials(id, new String(secret)));
    } catch (IllegalArgumentException e) {
      throw new IOException(PanguConfigKeys.ACCESS_KEY_ID + ": " + e.getMessage(), e);
    }
  }

  /** The master members an authority names, directly or through the configuration. */
  static List<HostPort> masters(String authority, Configuration conf) throws IOException {
    String list;
    if (authority.isEmpty()) {
      list = conf.getTrimmed(PanguConfigKeys.MASTERS, "");
      if (list.isEmpty()) {
        throw new IOException("pangu:/// names no master group: set "
            + PanguConfigKeys.MASTERS + " or write pangu://host:port,host:port/");
      }
    } else if (authority.contains(":")) {
      list = authority;
    } else {
      list = conf.getTrimmed(PanguConfigKeys.MASTERS_PREFIX + authority, "");
      if (list.isEmpty()) {
        throw new IOException("pangu://" + authority + "/ names an unknown cluster: set "
            + PanguConfigKeys.MASTERS_PREFIX + authority + " to its master members");
      }
    }
    List<HostPort> masters = new ArrayList<>();
    for (String member : list.split(",")) {
      if (!member.isBlank()) {
        try {
          masters.add(HostPort.parse(member.trim()));
        } catch (IllegalArgumentException e) {
          throw new IOException("bad master address in " + list + ": " + e.getMessage(), e);
        }
      }
    }
    return masters;
  }

  /** The client under this file system, for Pangu-specific calls (quotas, cluster report). */
  public PanguClient client() {
    return client;
  }

  @Override
  public URI getUri() {
    return uri;
  }

  @Override
  public Path getWorkingDirectory() {
    return workingDirectory;
  }

  @Override
  public void setWorkingDirectory(Path dir) {
    workingDirectory = makeQualified(dir);
  }

  @Override
  @SuppressWarnings("deprecation")
  public long getDefaultBlockSize() {
    return defaultChunkSizeBytes;
  }

  @Override
  @SuppressWarnings("deprecation")
  public short getDefaultReplication() {
    return defaultReplication;
  }

  // ---------------------------------------------------------------- reading

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    String path = pathOf(f);
    try {
      return new FSDataInputStream(new PanguFsInputStream(client.open(path), statistics));
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.IS_A_DIRECTORY) {
        throw (FileNotFoundException) new FileNotFoundException("cannot open " + path
            + ": it is a directory").initCause(e);
      }
      throw PanguErrors.translateLookup(e);
    }
  }

  @Override
  public FileStatus getFileStatus(Path f) throws IOException {
    Path qualified = makeQualified(f);
    try {
      return toHadoop(client.getStatus(pathOf(qualified)), qualified);
    } catch (PanguException e) {
      throw PanguErrors.translateLookup(e);
    }
  }

  @Override
  public FileStatus[] listStatus(Path f) throws IOException {
    List<FileStatus> entries = new ArrayList<>();
    RemoteIterator<FileStatus> listing = listStatusIterator(f);
    while (listing.hasNext()) {
      entries.add(listing.next());
    }
    return entries.toArray(new FileStatus[0]);
  }

  /** The directory's entries a page at a time; a file lists as itself. */
  @Override
  public RemoteIterator<FileStatus> listStatusIterator(Path f) throws IOException {
    Path dir = makeQualified(f);
    String path = pathOf(dir);
    DirectoryListing listing;
    try {
      listing = client.list(path);
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.NOT_A_DIRECTORY || e.code() == PanguErrorCode.IS_A_DIRECTORY
          || e.code() == PanguErrorCode.INVALID_ARGUMENT) {
        FileStatus status = getFileStatus(dir);
        if (status.isFile()) {
          return single(status);
        }
      }
      throw PanguErrors.translateLookup(e);
    }
    return new RemoteIterator<>() {
      @Override
      public boolean hasNext() throws IOException {
        try {
          return listing.hasNext();
        } catch (PanguException e) {
          throw PanguErrors.translate(e);
        }
      }

      @Override
      public FileStatus next() throws IOException {
        try {
          org.apsara.pangu.api.v1.FileStatus entry = listing.next();
          return toHadoop(entry, new Path(dir, nameOf(entry.getPath())));
        } catch (PanguException e) {
          throw PanguErrors.translate(e);
        }
      }
    };
  }

  private static RemoteIterator<FileStatus> single(FileStatus status) {
    return new RemoteIterator<>() {
      private boolean done;

      @Override
      public boolean hasNext() {
        return !done;
      }

      @Override
      public FileStatus next() {
        if (done) {
          throw new NoSuchElementException();
        }
        done = true;
        return status;
      }
    };
  }

  @Override
  public ContentSummary getContentSummary(Path f) throws IOException {
    try {
      org.apsara.pangu.api.v1.ContentSummary s = client.contentSummary(pathOf(f));
      return new ContentSummary.Builder().length(s.getLength()).fileCount(s.getFiles())
          .directoryCount(s.getDirectories()).spaceConsumed(s.getSpaceConsumed())
          .quota(s.getNameQuota()).spaceQuota(s.getSpaceQuota()).build();
    } catch (PanguException e) {
      throw PanguErrors.translateLookup(e);
    }
  }

  @Override
  public BlockLocation[] getFileBlockLocations(FileStatus file, long start, long len)
      throws IOException {
    if (file == null) {
      return null;
    }
    if (start < 0 || len < 0) {
      throw new IllegalArgumentException("invalid start or length: " + start + ", " + len);
    }
    if (file.isDirectory() || file.getLen() <= start) {
      return new BlockLocation[0];
    }
    try {
      List<BlockLocation> blocks = new ArrayList<>();
      for (LocatedChunk chunk : client.locateChunks(pathOf(file.getPath()), start, len)) {
        int n = chunk.getLocationsCount();
        String[] names = new String[n];
        String[] hosts = new String[n];
        String[] racks = new String[n];
        for (int i = 0; i < n; i++) {
          ChunkServerLocation location = chunk.getLocations(i);
          HostPort address = HostPort.parse(location.getAddress());
          names[i] = location.getAddress();
          hosts[i] = address.host();
          racks[i] = (location.getRack().isEmpty() ? "/default-rack" : location.getRack())
              + "/" + location.getAddress();
        }
        blocks.add(new BlockLocation(names, hosts, racks, chunk.getFileOffset(),
            chunk.getLength()));
      }
      return blocks.toArray(new BlockLocation[0]);
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  // ---------------------------------------------------------------- writing

  @Override
  public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite,
      int bufferSize, short replication, long blockSize, Progressable progress)
      throws IOException {
    return create(f, permission, overwrite, replication, blockSize, true);
  }

  @Override
  public FSDataOutputStream createNonRecursive(Path f, FsPermission permission,
      EnumSet<CreateFlag> flags, int bufferSize, short replication, long blockSize,
      Progressable progress) throws IOException {
    return create(f, permission, flags.contains(CreateFlag.OVERWRITE), replication, blockSize,
        false);
  }

  private FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite,
      short replication, long blockSize, boolean createParent) throws IOException {
    String path = pathOf(f);
    CreateOptions options = new CreateOptions(overwrite, Math.max(0, replication),
        chunkSizeFor(blockSize), modeOf(permission), createParent);
    try {
      PanguOutputStream out = client.create(path, options);
      return new FSDataOutputStream(new PanguFsOutputStream(out), statistics);
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.IS_A_DIRECTORY) {
        throw (FileAlreadyExistsException) new FileAlreadyExistsException("cannot create file "
            + path + ": it is a directory").initCause(e);
      }
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public FSDataOutputStream append(Path f, int bufferSize, Progressable progress)
      throws IOException {
    String path = pathOf(f);
    try {
      PanguOutputStream out = client.append(path);
      return new FSDataOutputStream(new PanguFsOutputStream(out), statistics, out.getPos());
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.IS_A_DIRECTORY) {
        throw (FileNotFoundException) new FileNotFoundException("cannot append to " + path
            + ": it is a directory").initCause(e);
      }
      throw PanguErrors.translate(e);
    }
  }

  private long chunkSizeFor(long blockSize) {
    long size = blockSize > 0 ? blockSize : defaultChunkSizeBytes;
    return Math.max(CHUNK_SIZE_MIN_BYTES, Math.min(CHUNK_SIZE_MAX_BYTES, size));
  }

  private int modeOf(FsPermission permission) {
    if (permission == null) {
      return 0;
    }
    return permission.applyUMask(FsPermission.getUMask(getConf())).toShort() & 07777;
  }

  // ---------------------------------------------------------------- namespace changes

  @Override
  public boolean mkdirs(Path f, FsPermission permission) throws IOException {
    try {
      client.mkdirs(pathOf(f), modeOf(permission));
      return true;
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public boolean rename(Path src, Path dst) throws IOException {
    String source = pathOf(src);
    String destination = pathOf(dst);
    if (source.equals("/")) {
      return false;
    }
    org.apsara.pangu.api.v1.FileStatus sourceStatus = statusOrNull(source);
    if (sourceStatus == null) {
      return false;
    }
    if (source.equals(destination)) {
      // HDFS: renaming a file onto itself succeeds, a directory onto itself does not.
      return !sourceStatus.getDirectory();
    }
    String target = destination;
    org.apsara.pangu.api.v1.FileStatus destinationStatus = statusOrNull(destination);
    if (destinationStatus != null) {
      if (!destinationStatus.getDirectory()) {
        return false;
      }
      target = (destination.equals("/") ? "" : destination) + "/" + nameOf(source);
      if (target.equals(source)) {
        return !sourceStatus.getDirectory();
      }
    } else {
      org.apsara.pangu.api.v1.FileStatus parent = statusOrNull(parentOf(destination));
      if (parent == null || !parent.getDirectory()) {
        return false;
      }
    }
    try {
      client.rename(source, target);
      return true;
    } catch (PanguException e) {
      switch (e.code()) {
        case NOT_FOUND, ALREADY_EXISTS, NOT_A_DIRECTORY, ROOT_NOT_ALLOWED -> {
          return false;
        }
        default -> throw PanguErrors.translate(e);
      }
    }
  }

  @Override
  public boolean delete(Path f, boolean recursive) throws IOException {
    String path = pathOf(f);
    try {
      if (path.equals("/")) {
        // The root itself is never removed, as in HDFS; a non-recursive delete of a non-empty
        // root is refused like that of any directory.
        if (!recursive && client.list(path).hasNext()) {
          throw new PathIsNotEmptyDirectoryException(path);
        }
        return false;
      }
      return client.delete(path, recursive);
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.NOT_A_DIRECTORY) {
        return false; // a path below a file does not exist
      }
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public void setTimes(Path f, long mtime, long atime) throws IOException {
    try {
      client.setTimes(pathOf(f), mtime, atime);
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public void setPermission(Path f, FsPermission permission) throws IOException {
    try {
      client.setPermission(pathOf(f), permission.toShort() & 07777);
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public void setOwner(Path f, String username, String groupname) throws IOException {
    try {
      client.setOwner(pathOf(f), username, groupname);
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  /** Closes a file whose writer died; {@code true} once it is closed. */
  public boolean recoverLease(Path f) throws IOException {
    try {
      return client.recoverLease(pathOf(f));
    } catch (PanguException e) {
      throw PanguErrors.translate(e);
    }
  }

  @Override
  public boolean hasPathCapability(Path path, String capability) throws IOException {
    switch (PathCapabilitiesSupport.validatePathCapabilityArgs(makeQualified(path), capability)) {
      case CommonPathCapabilities.FS_APPEND, CommonPathCapabilities.FS_PERMISSIONS -> {
        return true;
      }
      default -> {
        return super.hasPathCapability(path, capability);
      }
    }
  }

  @Override
  public void close() throws IOException {
    try {
      super.close();
    } finally {
      if (client != null) {
        client.close();
      }
    }
  }

  // ---------------------------------------------------------------- paths and statuses

  /** The absolute Pangu path of {@code p}, which must belong to this file system. */
  String pathOf(Path p) {
    Path qualified = makeQualified(p);
    String path = qualified.toUri().getPath();
    return path.isEmpty() ? "/" : path;
  }

  private org.apsara.pangu.api.v1.FileStatus statusOrNull(String path) throws IOException {
    try {
      return client.getStatus(path);
    } catch (PanguException e) {
      if (e.code() == PanguErrorCode.NOT_FOUND || e.code() == PanguErrorCode.NOT_A_DIRECTORY) {
        return null;
      }
      throw PanguErrors.translate(e);
    }
  }

  private FileStatus toHadoop(org.apsara.pangu.api.v1.FileStatus s, Path path) {
    boolean directory = s.getDirectory();
    return new FileStatus(directory ? 0 : s.getLength(), directory,
        directory ? 0 : s.getReplication(), directory ? 0 : s.getChunkSize(), s.getMtimeMs(),
        s.getAtimeMs(), new FsPermission((short) s.getMode()), s.getOwner(), s.getGroup(),
        makeQualified(path));
  }

  private static String nameOf(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  private static String parentOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash <= 0 ? "/" : path.substring(0, slash);
  }
}
