/**
 * The chunkserver's local storage: chunk replicas kept as files on one or more volumes (disks),
 * with a CRC32C checksum per 4 KiB block, verified on every read and by a background {@link
 * org.apsara.pangu.chunkserver.store.Scrubber}. No networking: the RPC data path calls {@link
 * org.apsara.pangu.chunkserver.store.ChunkStore}.
 *
 * <h2>Layout of a volume</h2>
 *
 * <pre>
 *   &lt;volume&gt;/chunks/&lt;xx&gt;/&lt;id&gt;.data      the replica's bytes, nothing else
 *   &lt;volume&gt;/chunks/&lt;xx&gt;/&lt;id&gt;.meta      its checksum metadata (below)
 *   &lt;volume&gt;/chunks/&lt;xx&gt;/&lt;id&gt;.meta.tmp  a metadata replacement being written;
 *                                              deleted on open
 *   &lt;volume&gt;/chunks/volume-check.tmp     written and deleted by a volume check after a
 *                                              disk error (see ChunkStore)
 * </pre>
 *
 * {@code <id>} is the chunk id as 16 lower-case hex digits and {@code <xx>} its lowest byte as two,
 * so that no directory holds more than 1/256 of a disk's replicas. The data file has no header, so
 * that chunk offset and file offset are the same and a later data path can send it with {@code
 * transferTo}.
 *
 * <h2>The metadata file</h2>
 *
 * All integers are big-endian. Each header region is one 512-byte sector, the unit a disk writes
 * atomically, so that a torn write damages at most the region being written.
 *
 * <pre>
 * [0, 512)     superblock, written once when the file is (re)written as a whole:
 *                0  int    magic 0x50474d44 ("PGMD")
 *                4  short  format version (1)
 *                6  byte   state: 1 = open (being appended to), 2 = sealed
 *                7  byte   reserved, 0
 *                8  int    block size in bytes (4096)
 *               12  int    reserved, 0
 *               16  long   chunk id
 *               24  long   generation
 *               32  long   sealed length in bytes; -1 while open
 *               40  int    CRC32C of bytes [0, 40)
 * [512, 1024)  sync record slot 0 } used only while open; zero in a sealed file
 * [1024, 1536) sync record slot 1 }
 *                0  int    magic 0x50475352 ("PGSR")
 *                4  int    reserved, 0
 *                8  long   sequence number; the valid slot with the highest one is current
 *               16  long   synced length: every byte below it was forced to disk
 *               24  int    CRC32C of the synced length's last partial block (0 if aligned)
 *               28  int    CRC32C of bytes [0, 28)
 * [1536, ...)  one 4-byte CRC32C per block, block i at 1536 + 4 * i. While open, only full
 *              blocks have an entry (each is written once, when its block fills, and never
 *              rewritten); once sealed, the last partial block has one too.
 * </pre>
 *
 * <h2>Crash consistency</h2>
 *
 * An append writes the data, then the entries of the blocks it filled, then publishes the new
 * length to readers. {@code sync()} forces the data file and, at the same time (on another
 * thread), the metadata file if blocks filled since it was last forced (so that the entry of every
 * full block below the new length is durable); only when both are forced does it write the sync
 * record for the new length into the slot not holding the current one and force the metadata file
 * again: two or three {@code fdatasync} calls, of which the first two overlap. The sync record is
 * therefore durable only after everything it vouches for, and the alternate slot keeps the
 * previous record intact if a crash tears this write.
 *
 * <p>Recovery of an open replica starts from the current sync record's length {@code S}: it
 * verifies the partial block ending at {@code S} against the record's tail checksum, then extends
 * the length block by block while a full block's entry exists and matches its data, and truncates
 * the data and entries after that. Only the tail beyond the last sync is read, and no byte below
 * {@code S} is ever dropped; if those bytes are missing or fail their checksum the replica is
 * reported corrupt instead. A partial block written after the last sync has no checksum on disk
 * and is dropped (it was never acknowledged).
 *
 * <p>Sealing, bumping the generation and creating write the whole metadata file to {@code
 * .meta.tmp}, force it, rename it over {@code .meta} and force the directory, so a crash leaves
 * either the old or the new file. Sealing truncates the data file only after the sealed metadata
 * is in place; recovery finishes an interrupted truncation. A data file without metadata, or
 * metadata that does not parse, is reported corrupt and never trusted.
 */
package org.apsara.pangu.chunkserver.store;
