package org.stagecrew.concurrency;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;

/**
 * Request/reply over a {@link Transport}: {@link #ask} sends a request and returns a future that
 * the matching reply completes; the handler of the request answers with {@link #reply}.
 *
 * <p><b>Envelope.</b> Requests and replies are ordinary frames whose payload starts with an
 * 11-byte header, so a peer in any language can answer:
 * <pre>
 *  byte 0    1    2      3                                 10   11
 *      +----+----+------+-----------------------------------+-------------------
 *      | 'S'| 'K'| kind |  correlation id (unsigned 64-bit  | application payload
 *      |0x53|0x4B|      |  big-endian, never 0)             | (any length, may be empty)
 *      +----+----+------+-----------------------------------+-------------------
 *  kind: 0x01 request, 0x02 reply
 * </pre>
 * A reply carries the id of its request and goes to the request's sender (the frame's sender
 * address). Ids are unique per asking transport, not globally: the asker matches a reply by id
 * alone.
 *
 * <p><b>Receiving replies.</b> The asking transport's frames are consumed by the application (with
 * {@code receive}, {@code poll} or a worker pool): it passes each one to {@link #complete(Frame)},
 * which takes replies and returns false for anything else. A reply that comes after its ask timed
 * out (or for an id never asked) is dropped and counted in {@link #lateReplies()}.
 *
 * <p><b>Failures.</b> A request that cannot be sent fails the future at once with the transport's
 * exception; no reply within the timeout fails it with {@link AskTimeoutException}. Thread-safe;
 * {@link #close()} fails the asks still waiting with {@link org.stagecrew.transport.TransportClosedException}.
 */
public final class Ask implements AutoCloseable {
    /** Length of the envelope header, bytes. */
    public static final int HEADER_LENGTH = 11;
    /** The first two bytes of every envelope: {@code 'S', 'K'}. */
    public static final short MAGIC = 0x534B;
    /** The kind byte of a request. */
    public static final byte REQUEST = 0x01;
    /** The kind byte of a reply. */
    public static final byte REPLY = 0x02;

    private static final ScheduledThreadPoolExecutor TIMER = timer();

    private final Transport transport;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final LongAdder late = new LongAdder();
    private final LongAdder timedOut = new LongAdder();
    private volatile boolean closed;

    private record Pending(CompletableFuture<Frame> future, ScheduledFuture<?> timeout) {
    }

    private static ScheduledThreadPoolExecutor timer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, task -> {
            Thread t = new Thread(task, "stagecrew-ask-timer");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true); // answered asks do not leave their timeouts queued
        return timer;
    }

    /** Asks and matches replies over {@code transport}, which the caller keeps owning and consuming. */
    public Ask(Transport transport) {
        this.transport = Objects.requireNonNull(transport, "transport");
    }

    /**
     * Sends {@code payload} as a request to {@code destination} and returns a future of the reply.
     * The reply is an owned frame whose {@link Frame#payload()} is the application payload (after
     * the envelope): close it. Dependent actions attached without an executor run on the thread
     * that called {@link #complete(Frame)}, the timer thread or an event loop; they must not block.
     *
     * @param payload ownership passes to this method, whatever happens
     * @param timeout how long to wait for the reply; positive
     * @return completes with the reply, or fails with {@link AskTimeoutException} or the send's
     *     {@link org.stagecrew.transport.TransportException}
     */
    public CompletableFuture<Frame> ask(Address destination, ByteBuf payload, Duration timeout) {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(payload, "payload");
        if (timeout.isNegative() || timeout.isZero()) {
            payload.release();
            throw new IllegalArgumentException("timeout must be positive, was: " + timeout);
        }
        long id = ids.incrementAndGet();
        ByteBuf request = envelope(REQUEST, id, payload);
        CompletableFuture<Frame> future = new CompletableFuture<>();
        ScheduledFuture<?> timer = TIMER.schedule(() -> expire(id, destination, timeout), timeout.toNanos(), TimeUnit.NANOSECONDS);
        pending.put(id, new Pending(future, timer));
        if (closed) {
            fail(id, new org.stagecrew.transport.TransportClosedException("ask to " + destination + " failed: Ask on "
                    + transport.address() + " is closed"));
            request.release();
            return future;
        }
        transport.send(destination, request).whenComplete((ok, error) -> {
            if (error != null) {
                fail(id, error);
            }
        });
        return future;
    }

    /**
     * Takes {@code frame} if it is a reply: completes its ask with an owned frame that shares its
     * memory ({@link Frame#retain()}, no copy), or drops and counts it if the ask is over, and returns true. Returns false for any other frame,
     * which the caller handles as usual. Never closes {@code frame}: the caller does, as always.
     */
    public boolean complete(Frame frame) {
        ByteBuf in = frame.payload();
        if (kind(in) != REPLY) {
            return false;
        }
        long id = in.getLong(in.readerIndex() + 3);
        Pending p = pending.remove(id);
        if (p == null) {
            late.increment();
            return true;
        }
        p.timeout.cancel(false);
        Frame owned = frame.retain();
        if (!p.future.complete(new EnvelopedFrame(owned))) {
            owned.close();
        }
        return true;
    }

    /** Whether {@code frame} is a request made with {@link #ask} (or a peer that speaks the envelope). */
    public static boolean isRequest(Frame frame) {
        return kind(frame.payload()) == REQUEST;
    }

    /** The application payload of a request or reply frame: a slice after the header, valid as long as the frame. */
    public static ByteBuf body(Frame frame) {
        ByteBuf in = frame.payload();
        return in.slice(in.readerIndex() + HEADER_LENGTH, in.readableBytes() - HEADER_LENGTH);
    }

    /**
     * Answers {@code request} (a frame for which {@link #isRequest} is true) with {@code payload},
     * sent to the request's sender with the request's correlation id.
     *
     * @param payload ownership passes to this method
     * @return the send's future (see {@link Transport#send(Address, ByteBuf)})
     * @throws IllegalArgumentException if {@code request} is not a request (the payload is released)
     */
    public static CompletableFuture<Void> reply(Transport transport, Frame request, ByteBuf payload) {
        ByteBuf in = request.payload();
        if (kind(in) != REQUEST) {
            payload.release();
            throw new IllegalArgumentException("reply failed: the frame from " + request.sender() + " is not an Ask request");
        }
        return transport.send(request.sender(), envelope(REPLY, in.getLong(in.readerIndex() + 3), payload));
    }

    /** Replies that came after their ask had timed out, or for no ask of ours; dropped. */
    public long lateReplies() {
        return late.sum();
    }

    /** Asks that timed out. */
    public long timedOut() {
        return timedOut.sum();
    }

    /** Asks waiting for their reply now. */
    public int pending() {
        return pending.size();
    }

    /** Fails every ask still waiting with {@link org.stagecrew.transport.TransportClosedException}; idempotent. Does not close the transport. */
    @Override
    public void close() {
        closed = true;
        for (Long id : pending.keySet()) {
            fail(id, new org.stagecrew.transport.TransportClosedException("ask on " + transport.address()
                    + " failed: the Ask was closed before the reply came"));
        }
    }

    private void expire(long id, Address destination, Duration timeout) {
        Pending p = pending.remove(id);
        if (p != null) {
            timedOut.increment();
            p.future.completeExceptionally(new AskTimeoutException("ask " + id + " to " + destination + " got no reply within "
                    + timeout.toMillis() + " ms; a reply that comes later is dropped and counted in lateReplies()"));
        }
    }

    private void fail(long id, Throwable error) {
        Pending p = pending.remove(id);
        if (p != null) {
            p.timeout.cancel(false);
            p.future.completeExceptionally(error);
        }
    }

    /** The kind byte if {@code in} starts with an envelope header, else 0. */
    private static byte kind(ByteBuf in) {
        if (in.readableBytes() < HEADER_LENGTH || in.getShort(in.readerIndex()) != MAGIC) {
            return 0;
        }
        return in.getByte(in.readerIndex() + 2);
    }

    private static ByteBuf envelope(byte kind, long id, ByteBuf payload) {
        try {
            ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(HEADER_LENGTH + payload.readableBytes());
            out.writeShort(MAGIC).writeByte(kind).writeLong(id).writeBytes(payload, payload.readerIndex(), payload.readableBytes());
            return out;
        } finally {
            payload.release();
        }
    }

    /** An owned reply whose payload is the application payload after the envelope. */
    private static final class EnvelopedFrame implements Frame {
        private final Frame frame;
        private final ByteBuf body;

        EnvelopedFrame(Frame frame) {
            this.frame = frame;
            this.body = Ask.body(frame);
        }

        @Override
        public Address sender() {
            return frame.sender();
        }

        @Override
        public org.stagecrew.transport.PeerCredentials credentials() {
            return frame.credentials();
        }

        @Override
        public ByteBuf payload() {
            return body;
        }

        @Override
        public boolean isOwned() {
            return true;
        }

        @Override
        public Frame retain() {
            return new EnvelopedFrame(frame.retain());
        }

        @Override
        public Frame copy() {
            return new EnvelopedFrame(frame.copy());
        }

        @Override
        public void close() {
            frame.close();
        }
    }
}
