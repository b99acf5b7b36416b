package org.stagecrew.benchmarks;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The Aeron IPC baseline: shared-memory log buffers between JVMs, through a media driver
 * ({@link AeronDriver}) whose directory every JVM gets as {@code -Daeron.dir}. Used as Aeron's own
 * samples use it: one client per JVM, an {@link ExclusivePublication} per sender and destination
 * ({@code offer}, idling while back-pressured as {@link #idleStrategy()} says), a subscription
 * polled through a {@link FragmentAssembler} (frames above the MTU come in fragments).
 *
 * <p>An address is {@code aeron-ipc:<streamId>}: this endpoint's subscription on {@code aeron:ipc},
 * the stream id made of the pid and a counter. Received payloads are handed to the sink as a Netty
 * view of the log buffer (or of the assembler's buffer) without a copy, one reused view per
 * underlying buffer, so that the receive path allocates nothing per frame, as ours does not.
 *
 * <p>Threading as {@link Endpoint}: a sender thread per destination, one polling thread.
 */
final class AeronEndpoint implements Endpoint {
    static final String CHANNEL = "aeron:ipc";
    static final String PREFIX = "aeron-ipc:";
    static final String IDLE_PROPERTY = "stagecrew.benchmarks.aeronIdle";
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final int MAX_VIEWS = 64;
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static Aeron client;
    private static int clientUsers;

    private final Aeron aeron;
    private final int streamId;
    private final Subscription subscription;
    private final Map<String, Outbound> outbound = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    // Polling thread only:
    private final FragmentAssembler assembler = new FragmentAssembler(this::onFragment);
    private final IdleStrategy pollIdle = idleStrategy();
    private final Map<Object, ByteBuf> views = new IdentityHashMap<>();
    private Sink sink;
    private int delivered;

    private AeronEndpoint(Aeron aeron, int streamId) {
        this.aeron = aeron;
        this.streamId = streamId;
        this.subscription = aeron.addSubscription(CHANNEL, streamId);
    }

    /**
     * Connects to the media driver in {@code aeronDirectory} (one client per JVM, shared by its
     * endpoints) and subscribes to a new stream.
     *
     * @throws IllegalStateException if {@code aeronDirectory} is null (the JVM was started without {@code -Daeron.dir})
     */
    static AeronEndpoint open(String aeronDirectory) {
        if (aeronDirectory == null) {
            throw new IllegalStateException("the Aeron baseline needs the media driver's directory as -Daeron.dir=...; "
                    + "the runner passes it to the JVMs it starts for the AERON variant");
        }
        int streamId = (int) (ProcessHandle.current().pid() << 8 | COUNTER.incrementAndGet() & 0xFF);
        Aeron aeron = acquire(aeronDirectory);
        try {
            return new AeronEndpoint(aeron, streamId);
        } catch (RuntimeException e) {
            release();
            throw e;
        }
    }

    private static synchronized Aeron acquire(String aeronDirectory) {
        if (client == null) {
            // Log buffers touched when mapped: a fresh 192 MiB log otherwise takes a page fault per 4 KiB inside the
            // measurement (on this machine about 90 MB/s until the log had wrapped once).
            client = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDirectory).preTouchMappedMemory(true));
        }
        clientUsers++;
        return client;
    }

    private static synchronized void release() {
        if (--clientUsers == 0) {
            client.close();
            client = null;
        }
    }

    /**
     * How a sender waits while back-pressured and a poller while nothing arrived, chosen with
     * {@value #IDLE_PROPERTY}: {@code backoff} (default, Aeron's own default idle strategy: spin,
     * yield, then park from 1 µs up to 1 ms), {@code yield} or {@code spin}. Spinning looks best on
     * an idle machine with a core per spinning thread; on 2 shared vCPUs it measured 100 times
     * slower round trips than backoff, every spinner being preempted by the other threads.
     */
    private static IdleStrategy idleStrategy() {
        String idle = System.getProperty(IDLE_PROPERTY, "backoff");
        switch (idle) {
            case "spin":
                return new BusySpinIdleStrategy();
            case "yield":
                return new YieldingIdleStrategy();
            case "backoff":
                return new BackoffIdleStrategy();
            default:
                throw new IllegalArgumentException(IDLE_PROPERTY + " must be spin, yield or backoff, was: " + idle);
        }
    }

    @Override
    public String address() {
        return PREFIX + streamId;
    }

    @Override
    public void send(String destination, ByteBuf payload) throws IOException {
        try {
            sendCopy(destination, payload);
        } finally {
            payload.release();
        }
    }

    /** Copies the frame into the destination's log buffer before returning. */
    @Override
    public void sendCopy(String destination, ByteBuf frame) throws IOException {
        Objects.requireNonNull(destination, "destination");
        Outbound out = outbound.get(destination);
        if (out == null) {
            out = connect(destination);
        }
        int length = frame.readableBytes();
        UnsafeBuffer view = out.view;
        if (frame.hasMemoryAddress()) {
            view.wrap(frame.memoryAddress() + frame.readerIndex(), length);
        } else if (frame.hasArray()) {
            view.wrap(frame.array(), frame.arrayOffset() + frame.readerIndex(), length);
        } else {
            view.wrap(frame.nioBuffer(frame.readerIndex(), length));
        }
        long deadline = 0;
        for (;;) {
            long result = out.publication.offer(view, 0, length);
            if (result > 0) {
                out.idle.reset();
                return;
            }
            if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED || closed.get()) {
                throw new IOException("send to " + destination + " failed: publication " + (result == Publication.CLOSED || closed.get()
                        ? "closed" : "reached its maximum position") + " (stream " + streamId + ")");
            }
            long now = System.nanoTime();
            if (deadline == 0) {
                deadline = now + TIMEOUT_NANOS;
            } else if (now - deadline > 0) {
                throw new IOException("send to " + destination + " failed: " + (result == Publication.NOT_CONNECTED
                        ? "no subscriber connected" : "back-pressured") + " for 30 s");
            }
            out.idle.idle();
        }
    }

    private Outbound connect(String destination) throws IOException {
        if (closed.get()) {
            throw new IOException("send to " + destination + " failed: endpoint " + address() + " is closed");
        }
        if (!destination.startsWith(PREFIX)) {
            throw new IOException("send to " + destination + " failed: not an Aeron baseline address (" + PREFIX + "<streamId>)");
        }
        int stream = Integer.parseInt(destination.substring(PREFIX.length()));
        Outbound out = new Outbound(aeron.addExclusivePublication(CHANNEL, stream));
        // Connected before the first offer: mapping and touching a fresh log takes a while, and it belongs to the
        // setup (as a TCP connect does), not to the first frames' times.
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (!out.publication.isConnected()) {
            if (System.nanoTime() - deadline > 0 || closed.get()) {
                out.publication.close();
                throw new IOException("send to " + destination + " failed: no subscriber connected to stream " + stream
                        + " within 30 s (is that endpoint open, on the same media driver " + aeron.context().aeronDirectoryName() + "?)");
            }
            out.idle.idle();
        }
        outbound.put(destination, out);
        if (closed.get()) { // close() may have run between the check and the put
            outbound.remove(destination).publication.close();
            throw new IOException("send to " + destination + " failed: endpoint " + address() + " is closed");
        }
        return out;
    }

    @Override
    public void flush() {
        // Every offer was in the log buffer before send returned; the receiver reads it from there.
    }

    @Override
    public int poll(Sink sink, int limit, long timeoutNanos) {
        this.sink = sink;
        delivered = 0;
        long deadline = 0;
        try {
            for (;;) {
                int fragments = subscription.poll(assembler, limit);
                if (delivered > 0) {
                    pollIdle.reset();
                    return delivered;
                }
                if (fragments == 0) {
                    long now = System.nanoTime();
                    if (deadline == 0) {
                        deadline = now + timeoutNanos;
                    } else if (now - deadline > 0) {
                        return 0;
                    }
                }
                pollIdle.idle(fragments);
            }
        } finally {
            this.sink = null;
        }
    }

    private void onFragment(DirectBuffer buffer, int offset, int length, Header header) {
        delivered++;
        ByteBuf payload = view(buffer, offset, length);
        if (payload != null) {
            sink.onFrame(payload);
            return;
        }
        ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(length); // a buffer without an array or ByteBuffer: unexpected
        try {
            buffer.getBytes(offset, copy.nioBuffer(0, length), length);
            sink.onFrame(copy.writerIndex(length));
        } finally {
            copy.release();
        }
    }

    /** A reused Netty view of the Aeron buffer's memory with its indices on the fragment, or null if none can be made. */
    private ByteBuf view(DirectBuffer buffer, int offset, int length) {
        Object memory = buffer.byteArray() != null ? buffer.byteArray() : buffer.byteBuffer();
        if (memory == null) {
            return null;
        }
        ByteBuf view = views.get(memory);
        if (view == null) {
            if (views.size() >= MAX_VIEWS) { // old assembler buffers and closed images: bounded
                views.values().forEach(ByteBuf::release);
                views.clear();
            }
            view = memory instanceof byte[] ? Unpooled.wrappedBuffer((byte[]) memory)
                    : Unpooled.wrappedBuffer(((java.nio.ByteBuffer) memory).duplicate().clear());
            views.put(memory, view);
        }
        int start = buffer.wrapAdjustment() + offset;
        return view.setIndex(start, start + length);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            for (Outbound out : outbound.values()) {
                out.publication.close();
            }
            outbound.clear();
            subscription.close();
            views.values().forEach(ByteBuf::release);
            views.clear();
        } finally {
            release();
        }
    }

    /** A destination's publication, with the sending thread's view of its frames and idle strategy. */
    private static final class Outbound {
        final ExclusivePublication publication;
        final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
        final IdleStrategy idle = idleStrategy();

        Outbound(ExclusivePublication publication) {
            this.publication = publication;
        }
    }
}
