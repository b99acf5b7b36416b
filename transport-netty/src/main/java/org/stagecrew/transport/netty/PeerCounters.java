package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import java.util.HashMap;
import java.util.Map;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportException;

/**
 * The counters of one peer in one direction (see {@link TransportCounters}); each update adds to
 * the transport's total too. Updates: any thread, lock-free; they are made per batch by the
 * connection's event loop, so the peer's counters see no contention.
 */
final class PeerCounters {
    private static final TransportCounter[] TO = {TransportCounter.FRAMES_SENT, TransportCounter.BYTES_SENT,
        TransportCounter.BACK_PRESSURE_WAITS, TransportCounter.BACK_PRESSURE_WAIT_TIME, TransportCounter.QUEUED_BYTES,
        TransportCounter.QUEUED_BYTES_HIGH, TransportCounter.CONNECTIONS_OPENED, TransportCounter.CONNECTIONS_ACTIVE,
        TransportCounter.CONNECTIONS_LOST, TransportCounter.RECONNECTS};
    private static final TransportCounter[] FROM = {TransportCounter.FRAMES_RECEIVED, TransportCounter.BYTES_RECEIVED,
        TransportCounter.CONNECTIONS_OPENED, TransportCounter.CONNECTIONS_ACTIVE, TransportCounter.CONNECTIONS_LOST,
        TransportCounter.PROTOCOL_ERRORS, TransportCounter.FRAMES_DISCARDED};

    private final TransportCounters owner;
    private final CounterMemory memory;
    private final Address peer;
    private final int scope;
    /** Counter ids by ordinal; -1 where this direction has none or the memory was full. */
    private final int[] ids = new int[TransportCounter.values().length];
    /** Guarded by the owner: per-detail counter ids. */
    private final Map<Long, Integer> details = new HashMap<>();
    /** Guarded by the owner: connections holding this record. */
    int refs;
    /** Guarded by the owner: freed, so a late update (a write completing after its connection failed) allocates nothing. */
    boolean freed;
    /** Whether a connection to the peer was ever opened: the next one is a reconnect. */
    private volatile boolean opened;

    PeerCounters(TransportCounters owner, Address peer, int scope) {
        this.owner = owner;
        this.memory = owner.memory();
        this.peer = peer;
        this.scope = scope;
        java.util.Arrays.fill(ids, -1);
        for (TransportCounter c : scope == TransportCounters.SCOPE_TO ? TO : FROM) {
            ids[c.ordinal()] = owner.allocate(c, scope, -1, peer);
        }
    }

    Address peer() {
        return peer;
    }

    int scope() {
        return scope;
    }

    /** Whether every counter found room. */
    boolean complete() {
        for (TransportCounter c : scope == TransportCounters.SCOPE_TO ? TO : FROM) {
            if (ids[c.ordinal()] < 0) {
                return false;
            }
        }
        return true;
    }

    /** Frees this record's counters. Guarded by the owner. */
    void free() {
        freed = true;
        for (int i = 0; i < ids.length; i++) {
            owner.free(ids[i]);
            ids[i] = -1;
        }
        for (int id : details.values()) {
            owner.free(id);
        }
        details.clear();
    }

    /** The connection that held this record is gone. */
    void release() {
        owner.release(this);
    }

    private void add(TransportCounter c, long n) {
        memory.add(ids[c.ordinal()], n);
        owner.add(c, n);
    }

    /** One write completed: {@code frames} whole frames and {@code bytes} bytes reached the socket. */
    void sent(int frames, long bytes) {
        add(TransportCounter.FRAMES_SENT, frames);
        add(TransportCounter.BYTES_SENT, bytes);
    }

    /** One read batch: {@code frames} whole frames of {@code bytes} bytes. */
    void received(int frames, long bytes) {
        add(TransportCounter.FRAMES_RECEIVED, frames);
        add(TransportCounter.BYTES_RECEIVED, bytes);
    }

    /**
     * The destination's queue holds {@code queued} bytes now, and {@code channel} (null: none yet)
     * the bytes in its outbound buffer, handed over but not yet taken by the socket. Any thread.
     */
    void queued(long queued, Channel channel) {
        ChannelOutboundBuffer outbound = channel == null ? null : channel.unsafe().outboundBuffer();
        queued(queued + (outbound == null ? 0 : outbound.totalPendingWriteBytes()));
    }

    /** The destination's queue holds {@code bytes} now. */
    void queued(long bytes) {
        memory.set(ids[TransportCounter.QUEUED_BYTES.ordinal()], bytes);
        memory.max(ids[TransportCounter.QUEUED_BYTES_HIGH.ordinal()], bytes);
    }

    /** A blocking send waited {@code nanos} for room. */
    void backPressureWait(long nanos) {
        add(TransportCounter.BACK_PRESSURE_WAITS, 1);
        add(TransportCounter.BACK_PRESSURE_WAIT_TIME, nanos);
    }

    /** A connection to or from the peer was opened. */
    void opened() {
        if (opened && scope == TransportCounters.SCOPE_TO) {
            add(TransportCounter.RECONNECTS, 1);
        }
        opened = true;
        add(TransportCounter.CONNECTIONS_OPENED, 1);
        add(TransportCounter.CONNECTIONS_ACTIVE, 1);
        if (scope == TransportCounters.SCOPE_FROM) {
            owner.add(TransportCounter.CONNECTIONS_ACCEPTED, 1);
        }
    }

    /** An opened connection ended; {@code lost} if it ended while the transport was open. */
    void closed(boolean lost) {
        add(TransportCounter.CONNECTIONS_ACTIVE, -1);
        if (lost) {
            add(TransportCounter.CONNECTIONS_LOST, 1);
        }
    }

    /**
     * Our connection to the peer ended with {@code cause}: counted closed (and lost, if {@code
     * transportOpen}) if it had been opened, refused if the peer rejected it; then lets the record go.
     */
    void ended(boolean wasOpened, TransportException cause, boolean transportOpen) {
        connectionEnded(wasOpened, cause, transportOpen);
        release();
    }

    /** As {@link #ended}, for one of the connections of a record that outlives them (an acknowledged stream's). */
    void connectionEnded(boolean wasOpened, TransportException cause, boolean transportOpen) {
        if (wasOpened) {
            closed(transportOpen);
        } else if (cause instanceof PeerRejectedException) {
            int code = ((PeerRejectedException) cause).code();
            owner.addDetail(TransportCounter.CONNECTIONS_REFUSED, code, 1);
            addDetail(TransportCounter.CONNECTIONS_REFUSED, code, 1);
        }
    }

    /** Counts {@code frames} sends to the peer that failed with {@code cause}, and returns it. Any thread. */
    <T extends TransportException> T failed(T cause, int frames) {
        owner.sendsFailed(this, cause, frames);
        return cause;
    }

    void protocolError() {
        add(TransportCounter.PROTOCOL_ERRORS, 1);
    }

    void discarded(long frames) {
        add(TransportCounter.FRAMES_DISCARDED, frames);
    }

    /** Adds to this peer's counter of {@code c} with {@code detail} only (the caller counts the total). */
    void addDetail(TransportCounter c, int detail, long n) {
        memory.add(owner.peerDetailId(this, c, detail, details), n);
    }
}
