package org.stagecrew.transport.netty;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.ConnectionRefusedException;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.UnknownAddressException;

/**
 * The live counters of one transport ({@link TransportCounter}) in a {@link CounterMemory}: the
 * transport's totals, allocated when it opens, and a {@link PeerCounters} record per peer and
 * direction, allocated when the peer first appears. A record stays while the peer has connections,
 * and afterwards (so that what failed stays visible) until a new peer finds the memory full: then
 * every record without connections is freed.
 *
 * <p>Updates: any thread, lock-free, per batch (see the callers). Records and per-detail counters
 * are allocated under this object's lock, off the frame path.
 */
final class TransportCounters {
    static final int SCOPE_TRANSPORT = 0;
    static final int SCOPE_TO = 1;
    static final int SCOPE_FROM = 2;
    /** The exception types that {@link TransportCounter#SENDS_FAILED} tells apart; the detail is the index. */
    private static final List<Class<? extends TransportException>> FAILURES = List.of(BackPressureException.class,
            FrameTooLargeException.class, TransportClosedException.class, TransportTimeoutException.class,
            UnknownAddressException.class, ConnectionRefusedException.class, PeerRejectedException.class,
            PeerDiedException.class, ProtocolException.class, TransportException.class);
    private static final TransportCounter[] COUNTERS = TransportCounter.values();
    /** Counters of pipelines without a transport (tests, the drop-in's codec): in memory, shared, small. */
    static final TransportCounters DETACHED = new TransportCounters(CounterMemory.inProcess(256));

    private final CounterMemory memory;
    /** Transport-wide counter ids by ordinal; -1 for per-detail counters and the per-peer queue gauges. */
    private final int[] totals = new int[COUNTERS.length];
    /** Guarded by this: per-detail counter ids, by {@link #detailKey}. */
    private final Map<Long, Integer> details = new HashMap<>();
    private final Map<Address, PeerCounters> to = new HashMap<>();
    private final Map<Address, PeerCounters> from = new HashMap<>();

    TransportCounters(CounterMemory memory) {
        this.memory = memory;
        for (TransportCounter c : COUNTERS) {
            boolean perPeerOnly = c == TransportCounter.QUEUED_BYTES || c == TransportCounter.QUEUED_BYTES_HIGH;
            totals[c.ordinal()] = c.hasDetail() || perPeerOnly ? -1 : memory.allocate(c.ordinal(), SCOPE_TRANSPORT, -1, "");
        }
    }

    CounterMemory memory() {
        return memory;
    }

    /** The record of destination {@code peer}, with one more connection holding it; release with {@link PeerCounters#release()}. */
    PeerCounters outbound(Address peer) {
        return acquire(to, peer, SCOPE_TO);
    }

    /** The record of sender {@code peer}, with one more connection holding it; release with {@link PeerCounters#release()}. */
    PeerCounters inbound(Address peer) {
        return acquire(from, peer, SCOPE_FROM);
    }

    /** The record of sender {@code peer} if there is one, without holding it; or null. */
    synchronized PeerCounters inboundIfPresent(Address peer) {
        return from.get(peer);
    }

    private synchronized PeerCounters acquire(Map<Address, PeerCounters> peers, Address peer, int scope) {
        PeerCounters record = peers.get(peer);
        if (record == null) {
            record = new PeerCounters(this, peer, scope);
            if (!record.complete()) {
                record.free();
                freeIdle();
                record = new PeerCounters(this, peer, scope);
                if (!record.complete()) {
                    record.free(); // all or nothing: a peer that finds no room counts in the totals only
                }
            }
            peers.put(peer, record);
        }
        record.refs++;
        return record;
    }

    synchronized void release(PeerCounters record) {
        record.refs--;
    }

    /** Frees every record that no connection holds. Guarded by this. */
    private void freeIdle() {
        for (Map<Address, PeerCounters> peers : List.of(to, from)) {
            peers.values().removeIf(record -> {
                if (record.refs > 0) {
                    return false;
                }
                record.free();
                return true;
            });
        }
    }

    /** Allocates counter {@code c} for a peer record; -1 if the memory is full. */
    int allocate(TransportCounter c, int scope, int detail, Address peer) {
        return memory.allocate(c.ordinal(), scope, detail, peer.toString());
    }

    void free(int id) {
        memory.free(id);
    }

    /** Adds {@code n} to the transport's total of {@code c}. */
    void add(TransportCounter c, long n) {
        memory.add(totals[c.ordinal()], n);
    }

    void set(TransportCounter c, long value) {
        memory.set(totals[c.ordinal()], value);
    }

    /** The inbox holds {@code frames} now: sets the gauge and raises the high-water mark. */
    void inbox(long frames) {
        memory.set(totals[TransportCounter.INBOX_FRAMES.ordinal()], frames);
        memory.max(totals[TransportCounter.INBOX_FRAMES_HIGH.ordinal()], frames);
    }

    /** Counts {@code n} for {@code c} with {@code detail} (transport-wide), allocating the counter on first use. */
    void addDetail(TransportCounter c, int detail, long n) {
        memory.add(detailId(c, detail, SCOPE_TRANSPORT, null, details), n);
    }

    /** As {@link #detailId}, for {@code record}'s own counters; -1 once the record was freed. */
    synchronized int peerDetailId(PeerCounters record, TransportCounter c, int detail, Map<Long, Integer> ids) {
        return record.freed ? -1 : detailId(c, detail, record.scope(), record.peer(), ids);
    }

    /** The id of a per-detail counter in {@code ids}, allocated on first use; -1 if the memory is full. */
    synchronized int detailId(TransportCounter c, int detail, int scope, Address peer, Map<Long, Integer> ids) {
        long key = (long) c.ordinal() << 32 | (detail & 0xffffffffL);
        Integer id = ids.get(key);
        if (id == null) {
            id = memory.allocate(c.ordinal(), scope, detail, peer == null ? "" : peer.toString());
            if (id >= 0) {
                ids.put(key, id);
            }
        }
        return id;
    }

    /** Counts {@code frames} sends that failed with {@code cause}; {@code peer} may be null (no record). */
    void sendsFailed(PeerCounters peer, TransportException cause, long frames) {
        int type = failureType(cause);
        addDetail(TransportCounter.SENDS_FAILED, type, frames);
        if (peer != null) {
            peer.addDetail(TransportCounter.SENDS_FAILED, type, frames);
        }
    }

    /** Counts {@code frames} discarded frames of sender {@code peer}. */
    void discarded(Address peer, long frames) {
        PeerCounters record = inboundIfPresent(peer);
        if (record != null) {
            record.discarded(frames);
        } else {
            add(TransportCounter.FRAMES_DISCARDED, frames);
        }
    }

    /** An immutable snapshot; {@code discardedFrames} as {@link TransportStats#discardedFrames()}. */
    TransportStats snapshot(Map<Address, Long> discardedFrames) {
        return CounterSnapshots.read(memory.buffer(), capacity(), discardedFrames);
    }

    private int capacity() {
        return memory.buffer().getInt(24);
    }

    static int failureType(TransportException cause) {
        for (int i = 0; i < FAILURES.size(); i++) {
            if (FAILURES.get(i).isInstance(cause)) {
                return i;
            }
        }
        return FAILURES.size() - 1;
    }

    static String failureName(int type) {
        return type >= 0 && type < FAILURES.size() ? FAILURES.get(type).getSimpleName() : "UNKNOWN(" + type + ")";
    }

    /** The records, for tests. */
    synchronized List<PeerCounters> records() {
        List<PeerCounters> all = new ArrayList<>(to.values());
        all.addAll(from.values());
        return all;
    }
}
