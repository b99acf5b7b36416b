package org.stagecrew.transport.netty;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory that holds a transport's counters: a file mapped into memory beside the socket file
 * ({@code <socket file>.counters}, mode 0600), which another process reads while this one runs, is
 * hung or stopped; or, for an abstract or in-JVM address or when the file cannot be made, a direct
 * buffer that only this process sees. The layout, all little-endian, after Aeron's CnC counters:
 *
 * <pre>
 *  header (64 bytes)                      metadata: capacity x 256 bytes      values: capacity x 64 bytes
 *  0  int  magic 0x53434354 ("SCCT")      +0  int  state (0 unused,            +0 long value (the rest of
 *  4  int  version (1)                             1 allocated, 2 freed)           the 64 bytes is padding,
 *  8  long pid of the owner               +4  int  generation (+1 per change)      one cache line each)
 *  16 long start, epoch milliseconds      +8  int  type ({@code TransportCounter} ordinal)
 *  24 int  capacity (counters)            +12 int  scope (0 transport, 1 to, 2 from peer)
 *                                         +16 int  detail (exception type or notice code, -1 none)
 *                                         +20 int  label length
 *                                         +24 ...  label, UTF-8: the peer's address, or empty
 * </pre>
 *
 * <p>A counter's generation is odd while its record is being written and even otherwise; its
 * metadata is written before its state turns allocated (release stores), and a reader reads the
 * generation before and after the record (acquire loads) and reads again one that changed meanwhile. Values are read and written with {@link VarHandle}s on the buffer: atomic adds,
 * ordered stores, no {@code sun.misc.Unsafe}, so this works on every JDK from 17 on without flags.
 *
 * <p>Allocation and freeing: any thread, synchronized. Value updates: any thread, lock-free.
 */
final class CounterMemory {
    private static final Logger LOG = LoggerFactory.getLogger(CounterMemory.class);
    private static final AtomicBoolean LOGGED_FALLBACK = new AtomicBoolean();
    static final String SUFFIX = ".counters";
    static final int MAGIC = 0x53434354;
    static final int VERSION = 1;
    static final int HEADER = 64;
    static final int METADATA_LENGTH = 256;
    static final int VALUE_LENGTH = 64;
    static final int MAX_LABEL = METADATA_LENGTH - 24;
    static final int UNUSED = 0;
    static final int ALLOCATED = 1;
    static final int FREED = 2;
    /** Counters per transport: about 60 peers in both directions with every counter touched. */
    static final int DEFAULT_CAPACITY = 1024;
    static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final ByteBuffer buffer;
    private final int capacity;
    /** The counters file, or null when the memory is this process's own. */
    private final Path file;
    /** Guarded by this. */
    private int nextUnused;
    private final ArrayDeque<Integer> freed = new ArrayDeque<>();

    private CounterMemory(ByteBuffer buffer, int capacity, Path file) {
        this.buffer = buffer;
        this.capacity = capacity;
        this.file = file;
        buffer.putInt(4, VERSION);
        buffer.putLong(8, ProcessHandle.current().pid());
        buffer.putLong(16, System.currentTimeMillis());
        buffer.putInt(24, capacity);
        INTS.setRelease(buffer, 0, MAGIC); // last: a reader that sees the magic sees the header
    }

    static long size(int capacity) {
        return HEADER + (long) capacity * (METADATA_LENGTH + VALUE_LENGTH);
    }

    /**
     * The counters of a transport bound at {@code address}: in its counters file if the transport
     * {@code ownsFile} (it holds the address lock, which unlinks the file on close), else (an abstract
     * or in-JVM name) in memory only this process sees.
     */
    static CounterMemory forAddress(org.stagecrew.transport.Address address, boolean ownsFile) {
        return ownsFile ? forSocketFile(address.toPath(), DEFAULT_CAPACITY) : inProcess(DEFAULT_CAPACITY);
    }

    /** Memory only this process sees. */
    static CounterMemory inProcess(int capacity) {
        return new CounterMemory(ByteBuffer.allocateDirect((int) size(capacity)), capacity, null);
    }

    /**
     * The counters file of {@code socketFile}, created afresh (a stale one is replaced; the caller
     * holds the address lock), mode 0600; or, if it cannot be made, memory of this process only,
     * logged once per JVM.
     */
    static CounterMemory forSocketFile(Path socketFile, int capacity) {
        Path path = fileOf(socketFile);
        try {
            Files.deleteIfExists(path);
            try (FileChannel channel = FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, size(capacity));
                return new CounterMemory(mapped, capacity, path);
            }
        } catch (IOException | RuntimeException e) {
            SocketFiles.unlink(path);
            if (LOGGED_FALLBACK.compareAndSet(false, true)) {
                LOG.warn("counters file {} cannot be created ({}); counters of this and later transports of this JVM that"
                        + " meet the same failure are kept in memory only, and 'stagecrew stat' cannot see them", path, e.toString());
            }
            return inProcess(capacity);
        }
    }

    /** {@code <socketFile>.counters}. */
    static Path fileOf(Path socketFile) {
        return socketFile.resolveSibling(socketFile.getFileName() + SUFFIX);
    }

    /** The counters file, or null. */
    Path file() {
        return file;
    }

    ByteBuffer buffer() {
        return buffer;
    }

    /** Allocates a counter at value 0; returns its id, or -1 if the memory is full. */
    synchronized int allocate(int type, int scope, int detail, String label) {
        int id;
        if (!freed.isEmpty()) {
            id = freed.poll();
        } else if (nextUnused < capacity) {
            id = nextUnused++;
        } else {
            return -1;
        }
        int meta = metadataOffset(id);
        int generation = buffer.getInt(meta + 4) + 1;
        INTS.setRelease(buffer, meta + 4, generation);
        VarHandle.storeStoreFence(); // a seqlock: the record's writes below must not pass the odd generation
        LONGS.setRelease(buffer, valueOffset(id), 0L);
        buffer.putInt(meta + 8, type);
        buffer.putInt(meta + 12, scope);
        buffer.putInt(meta + 16, detail);
        byte[] bytes = label.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(bytes.length, MAX_LABEL);
        buffer.putInt(meta + 20, length);
        buffer.put(meta + 24, bytes, 0, length);
        INTS.setRelease(buffer, meta, ALLOCATED);
        INTS.setRelease(buffer, meta + 4, generation + 1);
        return id;
    }

    /** Frees counter {@code id} for reuse; its value is lost. */
    synchronized void free(int id) {
        if (id < 0) {
            return;
        }
        int meta = metadataOffset(id);
        INTS.setRelease(buffer, meta, FREED);
        INTS.setRelease(buffer, meta + 4, buffer.getInt(meta + 4) + 2); // stays even: not being changed
        freed.add(id);
    }

    /** Adds {@code delta}; any thread, atomic. No-op for id -1. */
    void add(int id, long delta) {
        if (id >= 0) {
            LONGS.getAndAdd(buffer, valueOffset(id), delta);
        }
    }

    /** Sets the value (a gauge); ordered store. No-op for id -1. */
    void set(int id, long value) {
        if (id >= 0) {
            LONGS.setRelease(buffer, valueOffset(id), value);
        }
    }

    /** Raises the value to {@code value} if it is lower (a high-water mark). No-op for id -1. */
    void max(int id, long value) {
        if (id < 0) {
            return;
        }
        int offset = valueOffset(id);
        long current;
        while (value > (current = (long) LONGS.getAcquire(buffer, offset))) {
            if (LONGS.compareAndSet(buffer, offset, current, value)) {
                return;
            }
        }
    }

    long get(int id) {
        return id < 0 ? 0 : (long) LONGS.getAcquire(buffer, valueOffset(id));
    }

    static int metadataOffset(int id) {
        return HEADER + id * METADATA_LENGTH;
    }

    int valueOffset(int id) {
        return valueOffset(capacity, id);
    }

    static int valueOffset(int capacity, int id) {
        return HEADER + capacity * METADATA_LENGTH + id * VALUE_LENGTH;
    }
}
