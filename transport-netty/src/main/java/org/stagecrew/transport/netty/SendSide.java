package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * The sending side of a {@link NettyTransport}: refuses what cannot be sent at all, finds the
 * cached {@link OutboundConnection} to a destination (or creates and connects it), queues the
 * frame there by the rule of the call ({@code send} with a future, blocking {@code send}, {@code
 * offer}), and waits for room when a blocking send finds the connection back-pressured.
 *
 * <p>Any thread. The connection cache is a concurrent map; a thread's most recent connection is
 * found without it ({@link Appenders#recent}).
 */
final class SendSide {
    private final NettyTransport transport;
    private final EventLoopGroup group;
    private final ConcurrentHashMap<Address, OutboundConnection> connections = new ConcurrentHashMap<>();
    /**
     * Failed connections, no longer cached, that may still hold frames whose failure is not reported
     * yet: {@code flush} waits for them too. Pruned as they settle.
     */
    private final Set<OutboundConnection> settling = ConcurrentHashMap.newKeySet();
    /** Our outbound channels, connecting or connected, until they close: a close on a shared loop waits for them. */
    private final Set<Channel> channels = ConcurrentHashMap.newKeySet();

    /** The sends of acknowledged delivery, or null in the default (written) delivery. */
    private final AckedSends acked;

    SendSide(NettyTransport transport, EventLoopGroup group) {
        this.transport = transport;
        this.group = group;
        this.acked = transport.config().delivery().isAcknowledged() ? new AckedSends(transport, group) : null;
    }

    /** The sends of acknowledged delivery, or null. */
    AckedSends acknowledged() {
        return acked;
    }

    /** Fails every frame that acknowledged delivery still holds: the transport is closing. */
    void closeAcknowledged() {
        if (acked != null) {
            acked.close();
        }
    }

    /** {@link org.stagecrew.transport.Transport#send(Address, ByteBuf)}: queues with a future, or fails it at once. */
    CompletableFuture<Void> send(Address destination, ByteBuf payload) {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(payload, "payload");
        if (acked != null) {
            return acked.send(destination, payload);
        }
        TransportException refused = refusal(destination, payload.readableBytes());
        OutboundConnection connection = refused == null ? connectionFor(destination) : null;
        if (connection != null && connection.isBackPressured()) {
            sampleQueued(connection);
            refused = new BackPressureException("send to " + destination + " failed: " + connection.queuedBytes()
                    + " bytes are queued, above writeBufferHighWaterMark " + transport.config().writeBufferHighWaterMark()
                    + "; wait for earlier futures or use the blocking send");
        }
        if (refused != null) {
            transport.counters().sendsFailed(connection == null ? null : connection.counters(), refused, 1);
            payload.release();
            return CompletableFuture.failedFuture(refused);
        }
        CompletableFuture<Void> future = new CompletableFuture<>();
        connection.enqueue(new PendingSend(payload, future), payload.readableBytes());
        return future;
    }

    /**
     * The blocking send: queues the frame, waiting up to {@code timeout} while the connection is
     * back-pressured. An {@code owned} source is the caller's to give up: it is released whatever happens.
     */
    void send(Address destination, ByteBuf source, int index, int length, Duration timeout, boolean owned) {
        boolean queued = false;
        OutboundConnection connection = null;
        long waitStart = 0;
        boolean waiting = false;
        Jfr.BackPressureStall stall = null;
        long queuedWhenStalled = 0;
        try {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(timeout, "timeout");
            if (acked != null) {
                queued = true; // the acknowledged sends release an owned source themselves
                acked.send(destination, source, index, length, timeout, owned);
                return;
            }
            long deadline = 0; // read the clock only when there is no room: it costs more than a send
            while (true) {
                TransportException refused = refusal(destination, length);
                if (refused != null) {
                    transport.counters().sendsFailed(connection == null ? null : connection.counters(), refused, 1);
                    throw refused;
                }
                connection = connectionFor(destination);
                if (!connection.isBackPressured() && queue(connection, source, index, length, owned)) {
                    queued = true;
                    return;
                }
                if (!waiting) {
                    sampleQueued(connection);
                    waiting = true;
                    waitStart = System.nanoTime();
                    deadline = waitStart + timeout.toNanos();
                    stall = Jfr.stallBegins();
                    queuedWhenStalled = stall != null ? connection.queuedBytes() : 0;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    sampleQueued(connection);
                    TransportTimeoutException timedOut = new TransportTimeoutException("send to " + destination
                            + " timed out after " + timeout.toMillis() + " ms: " + connection.queuedBytes() + " bytes are queued, above writeBufferHighWaterMark "
                            + transport.config().writeBufferHighWaterMark() + "; the receiver is not keeping up");
                    throw connection.counters().failed(timedOut, 1);
                }
                awaitRoom(connection, left);
            }
        } finally {
            if (waiting) {
                connection.counters().backPressureWait(System.nanoTime() - waitStart);
            }
            if (owned && !queued) {
                source.release();
            }
            Jfr.stallEnded(stall, transport.address(), destination, queuedWhenStalled);
        }
    }

    /** Queues the frame if there is room now; never waits. An {@code owned} source is released unless queued. */
    OfferResult offer(Address destination, ByteBuf source, int index, int length, boolean owned) {
        Objects.requireNonNull(destination, "destination");
        if (acked != null) {
            return acked.offer(destination, source, index, length, owned);
        }
        if (!transport.isOpen()) {
            return OfferResult.CLOSED;
        }
        TransportException refused = refusal(destination, length);
        if (refused != null) {
            transport.counters().sendsFailed(null, refused, 1);
            if (owned) {
                source.release();
            }
            throw refused;
        }
        OutboundConnection connection = connectionFor(destination);
        boolean queued;
        try {
            queued = !connection.isBackPressured() && queue(connection, source, index, length, owned);
        } catch (TransportException e) { // no memory for the copy
            if (owned) {
                source.release();
            }
            throw e;
        }
        if (!queued) {
            sampleQueued(connection);
        }
        return queued ? OfferResult.ACCEPTED : OfferResult.BACK_PRESSURED;
    }

    /**
     * Samples the queued-bytes gauge as a send meets back-pressure: the drain samples it at each pass,
     * but a drain parked on a full socket runs none, and the gauge would show the queue of its last pass.
     */
    private static void sampleQueued(OutboundConnection connection) {
        connection.counters().queued(connection.queuedBytes(), connection.channel());
    }

    static void checkRange(ByteBuf source, int index, int length) {
        if (index < 0 || length < 0 || index > source.capacity() - length) {
            throw new IndexOutOfBoundsException("frame of " + length + " bytes at index " + index
                    + " does not lie within the source buffer's capacity " + source.capacity());
        }
    }

    /**
     * Queues a frame: as a copy in the calling thread's segment if it is no longer than the append
     * limit, unless it is owned and long enough to be written from the caller's buffer (an owned source
     * is released once copied); else as it is if owned, or as a pooled copy. Returns false, queuing
     * nothing, if there was no room for a new segment.
     *
     * @throws TransportException caused by the {@link OutOfMemoryError}, counted, if there is no memory
     *     for the copy: nothing was queued
     */
    private static boolean queue(OutboundConnection connection, ByteBuf source, int index, int length, boolean owned) {
        try {
            return queueOrCopy(connection, source, index, length, owned);
        } catch (OutOfMemoryError e) {
            throw connection.counters().failed(Failures.noMemory(connection.destination(), "a copy of the " + length
                    + "-byte frame", "nothing was queued", e), 1);
        }
    }

    private static boolean queueOrCopy(OutboundConnection connection, ByteBuf source, int index, int length, boolean owned) {
        if (length <= connection.appendLimit() && (!owned || length < ChunkPacker.ZERO_COPY_THRESHOLD)) {
            if (!connection.append(source, index, length)) {
                return false;
            }
            if (owned) {
                source.release();
            }
            return true;
        }
        ByteBuf frame = source;
        if (!owned) {
            frame = PooledByteBufAllocator.DEFAULT.directBuffer(length, length);
            try {
                frame.writeBytes(source, index, length);
            } catch (RuntimeException e) {
                frame.release(); // e.g. a released source: the copy is ours to release
                throw e;
            }
        }
        connection.enqueue(frame, length);
        return true;
    }

    /** Why a frame cannot be sent at all, or null. */
    private TransportException refusal(Address destination, int length) {
        if (!transport.isOpen()) {
            return new TransportClosedException("send to " + destination + " failed: transport " + transport.address() + " is closed");
        }
        if (length > transport.config().maxFrameLength()) {
            return new FrameTooLargeException(destination, length, transport.config().maxFrameLength());
        }
        return null;
    }

    private OutboundConnection connectionFor(Address destination) {
        // Most senders talk to one destination at a time: skip the map for it. Per thread, so no shared write per send.
        OutboundConnection recent = Appenders.recent(transport, destination);
        if (recent != null) {
            return recent;
        }
        OutboundConnection connection = connections.get(destination);
        if (connection == null) {
            OutboundConnection fresh = new OutboundConnection(transport, destination, group.next());
            connection = connections.putIfAbsent(destination, fresh);
            if (connection == null) {
                connection = fresh;
                fresh.connect();
            } else {
                fresh.counters().release(); // never connects: let its counters go
            }
        }
        Appenders.of(connection); // the calling thread's recent connection from now on
        return connection;
    }

    /** The cached connections. */
    Collection<OutboundConnection> connections() {
        return connections.values();
    }

    /** The cached connection to {@code destination}, or null. */
    OutboundConnection connectionTo(Address destination) {
        return connections.get(destination);
    }

    /** Drops a failed connection from the cache, unless another has replaced it already. */
    void forget(OutboundConnection connection) {
        connections.remove(connection.destination(), connection);
        settleAfterFailure(connection);
    }

    /** Keeps a failed connection in sight of {@code flush} until every frame queued on it was reported. */
    void settleAfterFailure(OutboundConnection connection) {
        if (settling.add(connection)) {
            settling.removeIf(c -> c != connection && c.isFlushed()); // bounded by the connections still settling
        }
    }

    /**
     * Waits until every connection, cached or failed and still settling, has written or reported
     * every frame, or until {@code deadline}; see {@link #awaitFlushed(OutboundConnection, long)}.
     */
    boolean awaitFlushed(long deadline) {
        if (acked != null && !acked.awaitFlushed(deadline)) {
            return false;
        }
        for (OutboundConnection connection : connections.values()) {
            if (!awaitFlushed(connection, deadline)) {
                return false;
            }
        }
        for (OutboundConnection connection : settling) {
            if (!awaitFlushed(connection, deadline)) {
                return false;
            }
            settling.remove(connection); // a thread that queues on it later adds it again (settleAfterFailure)
        }
        return true;
    }

    /**
     * Waits up to {@code nanos} until {@code connection}'s queue falls below the low watermark or the
     * connection fails. Any thread except the connection's event loop.
     */
    private static void awaitRoom(OutboundConnection connection, long nanos) {
        if (connection.loop().inEventLoop()) {
            throw new IllegalStateException("blocking send to " + connection.destination() + " called on the transport's own"
                    + " event loop, which must drain the queue it would wait for; use offer() or the future-returning send()");
        }
        connection.budget().awaitRoom(nanos);
    }

    /**
     * Waits until everything sent to {@code connection} so far was written to the socket or failed,
     * or until {@code deadline} ({@link System#nanoTime()}), parked until the event loop signals a
     * change: it never polls. Any thread; on the connection's own event loop it returns false at once
     * if it would have to wait, since that loop must do the writing.
     *
     * @return whether everything was written or failed by the deadline; false at once if the thread
     *     is interrupted while it would wait (its interrupt status stays set)
     */
    private static boolean awaitFlushed(OutboundConnection connection, long deadline) {
        if (connection.isFlushed()) {
            return true;
        }
        if (connection.loop().inEventLoop()) {
            return false;
        }
        return connection.budget().awaitFlushed(deadline);
    }

    void clear() {
        connections.clear();
    }

    /** Remembers an outbound channel as its connect starts, until it closes. */
    void track(Channel channel) {
        channels.add(channel);
        channel.closeFuture().addListener(f -> channels.remove(channel));
    }

    /** Closes every outbound channel still open and waits until each is, up to {@code timeoutMillis} each; false if one was not. */
    boolean closeChannels(long timeoutMillis) {
        boolean closed = true;
        for (Channel channel : channels) {
            closed &= channel.close().awaitUninterruptibly(timeoutMillis);
        }
        return closed;
    }
}
