package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * The cached connection to one destination: it takes frames from sending threads and wires the
 * parts that carry them to the socket.
 *
 * <ul>
 *   <li>{@link ConnectionState}: connecting, accepted, failed; moved on the event loop.
 *   <li>{@link WriteBudget}: the bytes held against the watermarks, back-pressure, and the threads
 *       that wait for room or for {@code flush}.
 *   <li>{@link DrainScheduler}: when the event loop runs a drain pass ({@link #run}).
 *   <li>{@link ChunkPacker}: the MPSC queue, and packing what it holds into writes.
 *   <li>{@link SegmentAppender}: a sending thread's frames copied into its own {@link Segment}.
 *   <li>{@link SegmentWriter}: writing the sending threads' segments as slices.
 * </ul>
 *
 * <p>Small frames without a future take the fast path ({@link #append}, {@link SegmentAppender}):
 * the sending thread encodes them straight into its own pooled {@link Segment}, claimed with one CAS and published with one
 * ordered store, and the event loop writes the published bytes behind it. Every other frame (large
 * ones, and sends that return a future) goes through the queue ({@link #enqueue}), which also
 * carries each new segment, so that the event loop meets a thread's frames in the order the thread
 * sent them. A drain pass moves everything it finds and flushes once.
 *
 * <p>Memory is bounded by the watermarks: above the high mark {@link #isBackPressured()} turns
 * true until the drain brings the count below the low mark. The drain waits while the socket is
 * full ({@link DrainScheduler}) or the channel is above its (equal) watermark, so a destination
 * that does not read holds at most about twice the high watermark plus one chunk.
 *
 * <p>The connection is made lazily, on the first frame. Frames wait in the queue until the listener
 * accepts our hello. Any failure (connect, rejection, timeout, close) fails every queued frame with
 * the typed cause and removes this object from the transport's cache, so the next send connects
 * afresh.
 *
 * <p>{@link #enqueue}, {@link #append} and the waits: any thread. The rest: the event loop.
 */
final class OutboundConnection implements DrainScheduler.Drain, NoticeDecoder.Listener {
    /** Bytes one drain task moves before it yields the event loop to other work. */
    static final long MAX_BYTES_PER_TASK = 4L * 1024 * 1024;
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;

    private final NettyTransport transport;
    private final Address destination;
    private final EventLoop loop;
    private final ConnectionState state;
    private final WriteBudget budget;
    private final DrainScheduler scheduler;
    /** The segments taken from the queue and not yet sealed and written out. */
    private final SegmentWriter segments;
    private final ChunkPacker packer;
    private final SegmentAppender appender;
    /** The destination's counters, held until this connection fails (or is dropped unused). */
    private final PeerCounters counters;

    /** Written once on the event loop when connected; read by {@link #isSocketFull()} from any thread. */
    private volatile Channel channel;

    // Event loop only.
    private long peerMaxFrameLength;
    /** The destination's inbox when it lives in this JVM (LOCAL mode), which no socket buffer bounds. */
    private Inbox localPeer;
    private final Runnable wakeFromPeer;
    private boolean draining;
    private ScheduledFuture<?> connectTimeout;

    OutboundConnection(NettyTransport transport, Address destination, EventLoop loop) {
        this.transport = transport;
        this.destination = destination;
        this.loop = loop;
        this.state = new ConnectionState(destination);
        int highWaterMark = transport.config().writeBufferHighWaterMark();
        this.budget = new WriteBudget(destination, transport.config().writeBufferLowWaterMark(), highWaterMark, state, transport::isOpen);
        this.scheduler = new DrainScheduler(loop, this, transport.config().busyPoll());
        WriteCompletions completions = new WriteCompletions(this);
        int segmentLimit = SegmentAppender.segmentLimit(highWaterMark);
        SegmentPool pool = new SegmentPool(highWaterMark, segmentLimit);
        this.segments = new SegmentWriter(this, budget, completions, pool);
        this.packer = new ChunkPacker(this, budget, segments, completions);
        this.wakeFromPeer = () -> loop.execute(this::resumeAfterPeer);
        this.appender = new SegmentAppender(this, budget, packer, pool, segmentLimit);
        this.counters = transport.counters().outbound(destination);
    }

    /** The bytes held against the watermarks, and the threads that wait on them. */
    WriteBudget budget() {
        return budget;
    }

    /** The destination's counters. Any thread. */
    PeerCounters counters() {
        return counters;
    }

    /** The longest payload that {@link #append} takes; longer ones go through {@link #enqueue}. */
    int appendLimit() {
        return appender.appendLimit();
    }

    Address destination() {
        return destination;
    }

    NettyTransport transport() {
        return transport;
    }

    EventLoop loop() {
        return loop;
    }

    // ---- connection state: event loop ----

    /** Starts connecting; called once, by the thread that created and cached this connection. */
    void connect() {
        try {
            loop.execute(() -> {
                long timeoutMillis = transport.config().connectTimeout().toMillis();
                connectTimeout = loop.schedule(() -> onFailure(new TransportTimeoutException("connect to " + destination
                        + " timed out after " + timeoutMillis + " ms without an answer to our hello")),
                        timeoutMillis, TimeUnit.MILLISECONDS);
                try {
                    transport.connect(destination, loop, this).addListener((ChannelFutureListener) this::onConnected);
                } catch (TransportException e) {
                    onFailure(e); // e.g. a mode that cannot reach this kind of address: fail now, with the reason
                }
            });
        } catch (RejectedExecutionException e) {
            transport.sweepAfterClose(this);
        }
    }

    private void onConnected(ChannelFuture future) {
        if (!future.isSuccess()) {
            onFailure(Failures.connectFailed(destination, transport.usesFiles(destination), future.cause()));
            return;
        }
        channel = future.channel();
        if (state.failure() != null) {
            channel.close();
        }
    }

    /** The listener accepted our hello and stated the longest payload it takes. */
    @Override
    public void onAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength) {
        if (state.failure() != null) {
            return;
        }
        if (state.isAccepted()) {
            onFailure(new ProtocolException("send to " + destination + " failed: the listener accepted the connection twice"));
            return;
        }
        state.accept();
        counters.opened();
        this.peerMaxFrameLength = peerMaxFrameLength;
        this.localPeer = transport.localInbox(destination);
        connectTimeout.cancel(false);
        run();
    }

    @Override
    public void onFailure(ChannelHandlerContext ctx, TransportException cause) {
        onFailure(cause);
    }

    @Override
    public void onWritabilityChanged(ChannelHandlerContext ctx) {
        if (state.isAccepted() && !draining && channel.isWritable()) {
            run();
        }
    }

    /** Fails the connection and everything queued on it; the first cause wins. Event loop only. */
    void onFailure(TransportException cause) {
        boolean wasAccepted = state.isAccepted();
        if (!state.fail(cause)) {
            return;
        }
        counters.ended(wasAccepted, cause, transport.isOpen());
        if (connectTimeout != null) {
            connectTimeout.cancel(false);
        }
        transport.forget(this);
        if (channel != null) {
            channel.close();
        }
        failQueued(cause);
        scheduler.stop();
        // A sender that saw the drain still scheduled before the reset appended before it: fail that frame too.
        failQueued(cause);
        budget.wakeAll();
    }

    /** Whether everything sent here so far was written or reported failed; see {@link WriteBudget#isFlushed()}. Any thread. */
    boolean isFlushed() {
        return budget.isFlushed();
    }

    /** The failure that ended this connection, or null while it is usable. */
    TransportException failure() {
        return state.failure();
    }

    // ---- senders: any thread ----

    /** Whether the queue is above the high watermark; senders wait, offers are refused. */
    boolean isBackPressured() {
        return budget.isBackPressured();
    }

    long queuedBytes() {
        return budget.queuedBytes();
    }

    /**
     * Appends a frame: a {@link ByteBuf} (failures go to the undeliverable handler) or a {@link
     * PendingSend} (failures complete its future). Any thread.
     */
    void enqueue(Object message, int payloadLength) {
        appender.sealCurrent(); // the thread's later frames go behind this one
        budget.reserve(HEADER + (long) payloadLength);
        packer.offer(message);
        schedule();
    }

    /**
     * Appends a copy of a small frame ({@code length <= appendLimit()}) to the calling thread's
     * segment; see {@link SegmentAppender#append}. Any thread.
     */
    boolean append(ByteBuf source, int index, int length) {
        return appender.append(source, index, length);
    }

    /** Makes sure a drain pass will run after what the caller just queued or published. Any thread. */
    void schedule() {
        if (!scheduler.request() || !transport.isOpen()) {
            transport.sweepAfterClose(this);
        } else if (state.failure() != null) {
            // A thread that found us before we failed queued behind the failure: a flush must wait for its report.
            transport.settleAfterFailure(this);
        }
    }

    /** The connected channel, or null before the connect completed. Any thread; for tests and diagnostics. */
    Channel channel() {
        return channel;
    }

    /** Whether the drain waits for the socket ({@link DrainScheduler#isAwaitingSocket()}) or the channel is above its watermark. Any thread. */
    boolean isSocketFull() {
        Channel ch = channel;
        return scheduler.isAwaitingSocket() || ch != null && !ch.isWritable();
    }

    // ---- the drain: event loop ----

    /**
     * One drain pass. Event loop only. Moves what is queued and published until the channel or the
     * in-JVM peer is full (then parks until it has room) or the pass's byte budget is spent, flushing
     * after each round; then lets the {@link DrainScheduler} decide on the next pass.
     */
    @Override
    public void run() {
        TransportException cause = state.failure();
        if (cause != null) {
            scheduler.stop();
            failQueued(cause);
            return;
        }
        if (!state.isAccepted()) {
            return; // stays scheduled; onAccepted runs the drain
        }
        draining = true;
        counters.queued(budget.queuedBytes(), channel); // per pass: the queue is at its fullest when a pass begins
        try {
            Channel ch = channel;
            long budgetLeft = MAX_BYTES_PER_TASK;
            long before = packer.handedOver();
            while (true) {
                do {
                    budgetLeft -= packer.pack(ch, budgetLeft, peerMaxFrameLength, localPeer);
                    ch.flush();
                } while (budgetLeft > 0 && ch.isWritable() && !ChunkPacker.isFull(localPeer) && !packer.isEmpty());
                if (!ch.isWritable()) {
                    scheduler.park(); // onWritabilityChanged runs the drain
                    return;
                }
                if (ChunkPacker.isFull(localPeer)) {
                    if (localPeer.parkUntilRoom(wakeFromPeer)) {
                        scheduler.park(); // the in-JVM peer's inbox wakes us when it has room
                        return;
                    }
                    continue; // the peer made room since we looked: drain again
                }
                break;
            }
            if (budget.pendingWrites() != 0) {
                scheduler.awaitSocket(); // writeFinished runs the drain when the socket took them
                return;
            }
            scheduler.passDone(packer.handedOver() != before);
        } finally {
            draining = false;
            counters.queued(budget.queuedBytes(), channel);
        }
    }

    /** What is left to drain; see {@link SegmentWriter#pendingWork()}. */
    @Override
    public int pendingWork() {
        return packer.isEmpty() ? segments.pendingWork() : SegmentWriter.DATA;
    }

    private void resumeAfterPeer() {
        if (state.isAccepted()) {
            run();
        }
    }

    /** A write of ours entered the channel; {@code segment} is the segment it is a slice of, or null. Event loop. */
    void writeStarted(Segment segment) {
        if (segment != null) {
            segment.writesInFlight++;
        }
        budget.writeStarted();
    }

    /** A write's promise completed, with success or not: {@code frames} whole frames of {@code bytes} were written. Event loop. */
    void writeFinished(Segment segment, int frames, long bytes) {
        counters.sent(frames, bytes);
        if (segment != null) {
            segments.sliceWritten(segment);
        }
        counters.queued(budget.queuedBytes(), channel); // before flush() can return: what the segment held is released
        budget.writeFinished();
        if (budget.pendingWrites() == 0) {
            scheduler.socketTookWrites();
        }
    }

    /** Reports {@code frames} frames without a future that failed to the undeliverable handler. */
    void reportUndeliverable(int frames, TransportException cause) {
        transport.undeliverable(destination, frames, counters.failed(cause, frames));
    }

    FrameTooLargeException tooLarge(int length) {
        return new FrameTooLargeException(destination, length, (int) Math.min(Integer.MAX_VALUE, peerMaxFrameLength));
    }

    /**
     * Fails every queued frame and segment. Called on the event loop, or by {@link NettyTransport}
     * under this object's lock once the event loop has terminated: never by two threads at once.
     */
    void failQueued(TransportException cause) {
        report(() -> segments.discardAll() + packer.failQueued(cause), cause);
        if (segments.hasStuck()) {
            segments.retryStuckLater(cause);
        }
    }

    /**
     * Fails frames ({@code failing} releases them and counts them) and reports them, bracketed so that
     * {@link WriteBudget#awaitFlushed} never returns between the release of their bytes and the report. Any thread.
     */
    void report(IntSupplier failing, TransportException cause) {
        budget.beginReport();
        try {
            int frames = failing.getAsInt();
            if (frames > 0) {
                transport.undeliverable(destination, frames, counters.failed(cause, frames));
            }
        } finally {
            budget.endReport();
        }
    }

    /** The cause to report for a failed write: the connection's failure if known. */
    TransportException writeFailure(Throwable cause) {
        TransportException known = state.failure();
        return known != null ? known : Failures.connectionLost(destination, cause);
    }
}
