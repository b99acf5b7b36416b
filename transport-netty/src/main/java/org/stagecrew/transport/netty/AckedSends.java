package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import java.security.SecureRandom;
import java.time.Duration;
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
 * The sending side of a transport in {@link org.stagecrew.transport.Delivery#acknowledged
 * acknowledged} delivery: one {@link AckedConnection} per destination, each a stream with its own
 * random incarnation. Every frame is copied into one pooled buffer with its length field, which the
 * stream holds until the destination acknowledges it; the back-pressure rules are those of the
 * default mode ({@link SendSide}), counted over the frames held. Any thread.
 */
final class AckedSends {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final NettyTransport transport;
    private final EventLoopGroup group;
    private final ConcurrentHashMap<Address, AckedConnection> streams = new ConcurrentHashMap<>();

    AckedSends(NettyTransport transport, EventLoopGroup group) {
        this.transport = transport;
        this.group = group;
    }

    CompletableFuture<Void> send(Address destination, ByteBuf payload) {
        AckedConnection stream = null;
        try {
            refuse(destination, payload.readableBytes());
            stream = streamTo(destination);
            if (stream.budget().isBackPressured()) {
                sampleQueued(stream);
                throw new BackPressureException("send to " + destination + " failed: " + stream.budget().queuedBytes()
                        + " bytes are held unacknowledged, above writeBufferHighWaterMark "
                        + transport.config().writeBufferHighWaterMark() + "; wait for earlier futures or use the blocking send");
            }
            CompletableFuture<Void> future = new CompletableFuture<>();
            hold(destination, encode(destination, payload, payload.readerIndex(), payload.readableBytes()), future);
            return future;
        } catch (TransportException e) {
            return CompletableFuture.failedFuture(counted(stream, e));
        } finally {
            payload.release();
        }
    }

    void send(Address destination, ByteBuf source, int index, int length, Duration timeout, boolean owned) {
        AckedConnection stream = null;
        boolean waited = false;
        long waitStart = 0;
        try {
            refuse(destination, length);
            stream = streamTo(destination);
            if (stream.budget().isBackPressured()) {
                sampleQueued(stream);
                waited = true;
                waitStart = System.nanoTime();
                long deadline = waitStart + timeout.toNanos();
                while (stream.budget().isBackPressured() && stream.budget() == streamTo(destination).budget()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TransportTimeoutException("send to " + destination + " timed out after " + timeout.toMillis()
                                + " ms: " + stream.budget().queuedBytes() + " bytes are held unacknowledged, above"
                                + " writeBufferHighWaterMark " + transport.config().writeBufferHighWaterMark()
                                + "; the receiver is not keeping up");
                    }
                    if (stream.loop().inEventLoop()) {
                        throw new IllegalStateException("blocking send to " + destination + " called on the transport's own"
                                + " event loop, which must drain the queue it would wait for; use offer() or the future-returning send()");
                    }
                    stream.budget().awaitRoom(left);
                    refuse(destination, length);
                }
            }
            hold(destination, encode(destination, source, index, length), null);
        } catch (TransportException e) {
            throw counted(stream, e);
        } finally {
            if (waited) {
                stream.counters().backPressureWait(System.nanoTime() - waitStart);
            }
            if (owned) {
                source.release();
            }
        }
    }

    OfferResult offer(Address destination, ByteBuf source, int index, int length, boolean owned) {
        AckedConnection stream = null;
        try {
            if (!transport.isOpen()) {
                return OfferResult.CLOSED;
            }
            refuse(destination, length);
            stream = streamTo(destination);
            if (stream.budget().isBackPressured()) {
                sampleQueued(stream);
                return OfferResult.BACK_PRESSURED;
            }
            hold(destination, encode(destination, source, index, length), null);
            return OfferResult.ACCEPTED;
        } catch (TransportException e) {
            throw counted(stream, e);
        } finally {
            if (owned) {
                source.release();
            }
        }
    }

    /** Counts a send refused at the call ({@code stream} null: before its destination was known), and returns the cause. */
    private TransportException counted(AckedConnection stream, TransportException cause) {
        transport.counters().sendsFailed(stream == null ? null : stream.counters(), cause, 1);
        return cause;
    }

    /** Samples the held-bytes gauge as a send meets back-pressure (acknowledgements sample it too). */
    private static void sampleQueued(AckedConnection stream) {
        stream.counters().queued(stream.budget().queuedBytes());
    }

    /** Hands the encoded frame to the destination's stream; a stream that has just ended is replaced once. */
    private void hold(Address destination, ByteBuf frame, CompletableFuture<Void> future) {
        AckedConnection stream = streamTo(destination);
        TransportException ended = stream.add(frame, future);
        if (ended != null) {
            stream = streamTo(destination);
            ended = stream.add(frame, future);
        }
        if (ended != null) {
            frame.release();
            throw ended;
        }
        if (!transport.isOpen()) {
            endClosed(stream); // the close may have ended the streams before this one took the frame
        }
    }

    /** The frame as held until acknowledged: a pooled copy behind its length field. */
    private static ByteBuf encode(Address destination, ByteBuf source, int index, int length) {
        ByteBuf frame;
        try {
            frame = PooledByteBufAllocator.DEFAULT.directBuffer(Protocol.LENGTH_FIELD_LENGTH + length);
        } catch (OutOfMemoryError e) {
            throw Failures.noMemory(destination, "a copy of the " + length + "-byte frame", "nothing was queued", e);
        }
        try {
            return frame.writeInt(length).writeBytes(source, index, length);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    private void refuse(Address destination, int length) {
        if (!transport.isOpen()) {
            throw new TransportClosedException("send to " + destination + " failed: transport " + transport.address() + " is closed");
        }
        if (length > transport.config().maxFrameLength()) {
            throw new FrameTooLargeException(destination, length, transport.config().maxFrameLength());
        }
    }

    private AckedConnection streamTo(Address destination) {
        AckedConnection stream = streams.get(destination);
        // Made at most once per stream (a stream holds its destination's counters until it ends).
        return stream != null ? stream : streams.computeIfAbsent(destination,
                d -> new AckedConnection(transport, this, d, group.next(), newIncarnation()));
    }

    private static long newIncarnation() {
        long incarnation;
        do {
            incarnation = RANDOM.nextLong();
        } while (incarnation == 0);
        return incarnation;
    }

    /** The stream to {@code destination}, or null; for tests. */
    AckedConnection streamFor(Address destination) {
        return streams.get(destination);
    }

    /** Drops an ended stream, unless a new one has replaced it already. */
    void forget(AckedConnection stream) {
        streams.remove(stream.destination(), stream);
    }

    /** Waits until every frame held was acknowledged or failed, or until {@code deadline}. */
    boolean awaitFlushed(long deadline) {
        for (AckedConnection stream : streams.values()) {
            if (!stream.budget().isFlushed() && (stream.loop().inEventLoop() || !stream.budget().awaitFlushed(deadline))) {
                return false;
            }
        }
        return true;
    }

    /** Fails every frame held with the transport's close. */
    void close() {
        for (AckedConnection stream : streams.values()) {
            endClosed(stream);
        }
    }

    private void endClosed(AckedConnection stream) {
        stream.end(new TransportClosedException("send to " + stream.destination() + " failed: transport "
                + transport.address() + " is closed before the destination acknowledged the frame"));
    }
}
