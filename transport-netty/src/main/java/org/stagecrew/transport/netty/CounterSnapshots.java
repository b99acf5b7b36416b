package org.stagecrew.transport.netty;

import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerStats;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;

/**
 * Reads the counters of a {@link CounterMemory} into a {@link TransportStats}: the transport's own
 * memory, or another process's counters file mapped read-only. Never writes; any thread.
 */
final class CounterSnapshots {
    private static final TransportCounter[] COUNTERS = TransportCounter.values();
    /** A record that changes under the reader this many times in a row is skipped. */
    private static final int RETRIES = 8;

    private CounterSnapshots() {
    }

    /** What a counters file says: its owner's pid, start time, and counters. */
    record FileSnapshot(long pid, long startMillis, TransportStats stats) {
    }

    /**
     * Reads {@code countersFile}; empty if it does not exist or is not initialised yet.
     *
     * @throws TransportException if it cannot be read or is not a counters file of this version
     */
    static Optional<FileSnapshot> readFile(Path countersFile) {
        ByteBuffer mapped;
        try (FileChannel channel = FileChannel.open(countersFile, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < CounterMemory.HEADER) {
                return Optional.empty();
            }
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new TransportException("reading counters failed for " + countersFile + ": " + e, e);
        }
        int magic = (int) CounterMemory.INTS.getAcquire(mapped, 0);
        if (magic == 0) {
            return Optional.empty();
        }
        if (magic != CounterMemory.MAGIC || mapped.getInt(4) != CounterMemory.VERSION) {
            throw new TransportException(String.format("reading counters failed for %s: not a stagecrew counters file of"
                    + " version %d (magic 0x%08x, version %d)", countersFile, CounterMemory.VERSION, magic, mapped.getInt(4)));
        }
        int capacity = mapped.getInt(24);
        if (CounterMemory.size(capacity) > mapped.capacity()) {
            throw new TransportException("reading counters failed for " + countersFile + ": file is shorter than its "
                    + capacity + " counters need");
        }
        return Optional.of(new FileSnapshot(mapped.getLong(8), mapped.getLong(16), read(mapped, capacity, Map.of())));
    }

    /**
     * The counters in {@code buffer}; {@code discardedFrames} is used as is if not empty, else
     * rebuilt from the per-peer {@link TransportCounter#FRAMES_DISCARDED} counters.
     */
    static TransportStats read(ByteBuffer buffer, int capacity, Map<Address, Long> discardedFrames) {
        Map<String, Long> totals = new HashMap<>();
        Map<String, Map<String, Long>> peerValues = new LinkedHashMap<>();
        for (int id = 0; id < capacity; id++) {
            int meta = CounterMemory.metadataOffset(id);
            for (int attempt = 0; attempt < RETRIES; attempt++) {
                int generation = (int) CounterMemory.INTS.getAcquire(buffer, meta + 4);
                int state = (int) CounterMemory.INTS.getAcquire(buffer, meta);
                if (state == CounterMemory.UNUSED && generation == 0) {
                    id = capacity; // allocation is in order: nothing after the first never-used record
                    break;
                }
                if (state != CounterMemory.ALLOCATED || (generation & 1) != 0) {
                    if ((generation & 1) == 0) {
                        break; // freed
                    }
                    continue; // being allocated
                }
                int type = buffer.getInt(meta + 8);
                int scope = buffer.getInt(meta + 12);
                int detail = buffer.getInt(meta + 16);
                int length = Math.min(Math.max(0, buffer.getInt(meta + 20)), CounterMemory.MAX_LABEL);
                byte[] label = new byte[length];
                buffer.get(meta + 24, label);
                long value = (long) CounterMemory.LONGS.getAcquire(buffer, CounterMemory.valueOffset(capacity, id));
                VarHandle.loadLoadFence(); // a seqlock: the reads above must not pass the generation's second read
                if ((int) CounterMemory.INTS.getAcquire(buffer, meta + 4) != generation || type < 0 || type >= COUNTERS.length) {
                    continue;
                }
                String key = key(COUNTERS[type], detail);
                if (scope == TransportCounters.SCOPE_TRANSPORT) {
                    totals.merge(key, value, Long::sum);
                } else {
                    String peer = (scope == TransportCounters.SCOPE_TO ? "T" : "F") + new String(label, StandardCharsets.UTF_8);
                    peerValues.computeIfAbsent(peer, p -> new HashMap<>()).merge(key, value, Long::sum);
                }
                break;
            }
        }
        List<PeerStats> peers = new ArrayList<>();
        long queued = 0;
        long queuedHigh = 0;
        Map<Address, Long> discarded = new HashMap<>();
        for (Map.Entry<String, Map<String, Long>> e : peerValues.entrySet()) {
            String text = e.getKey().substring(1);
            Address peer = text.startsWith("@") ? Address.abstractName(text.substring(1)) : Address.of(text);
            PeerStats.Direction direction = e.getKey().charAt(0) == 'T' ? PeerStats.Direction.TO : PeerStats.Direction.FROM;
            PeerStats stats = new PeerStats(peer, direction, e.getValue());
            peers.add(stats);
            queued += stats.get(TransportCounter.QUEUED_BYTES);
            queuedHigh = Math.max(queuedHigh, stats.get(TransportCounter.QUEUED_BYTES_HIGH));
            long dropped = stats.get(TransportCounter.FRAMES_DISCARDED);
            if (dropped > 0) {
                discarded.merge(peer, dropped, Long::sum);
            }
        }
        // Queues are per destination: the transport's figures are their sum and the highest mark.
        totals.put(TransportCounter.QUEUED_BYTES.label(), queued);
        totals.put(TransportCounter.QUEUED_BYTES_HIGH.label(), queuedHigh);
        TransportStats sums = new TransportStats(0, 0, 0, Map.of(), totals, List.of());
        return new TransportStats(sums.get(TransportCounter.CONNECTIONS_ACCEPTED), sums.get(TransportCounter.CONNECTIONS_REJECTED),
                sums.get(TransportCounter.PROTOCOL_ERRORS), discardedFrames.isEmpty() ? discarded : discardedFrames, totals, peers);
    }

    /** {@code label} or {@code label.detail}. */
    static String key(TransportCounter counter, int detail) {
        if (!counter.hasDetail() || detail < 0) {
            return counter.label();
        }
        String name = counter == TransportCounter.SENDS_FAILED ? TransportCounters.failureName(detail) : Protocol.codeName(detail);
        return counter.label() + '.' + name;
    }
}
