package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.internal.PlatformDependent;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * The cached connection to one destination, and its write queue.
 *
 * <p>Small frames without a future take the fast path ({@link #append}): the sending thread encodes
 * them straight into its own pooled {@link Segment}, claimed with one CAS and published with one
 * ordered store, and the event loop writes the published bytes behind it as slices of that segment
 * (the {@link SegmentWriter}). Every other frame (large ones, and sends that return a future) goes
 * through a lock-free MPSC queue ({@link #enqueue}), which also carries each new segment, so that
 * the event loop meets a thread's frames in the order the thread sent them. The first frame after
 * the connection went idle schedules this object, as one task, on the connection's event loop. That
 * task ({@link #run}) drains everything: queued small frames are copied back to back into one
 * pooled chunk of up to {@value #CHUNK_SIZE} bytes, frames of {@value #ZERO_COPY_THRESHOLD} bytes
 * or more are written from the caller's buffer, segments are written as they stand, and one flush
 * carries the lot. While a pass moves anything the task queues itself again, so producers that keep
 * sending never have to wake the loop; the first pass that finds nothing goes idle. So a burst of
 * sends costs a few tasks, writes and flushes, whatever the number of frames.
 *
 * <p>Memory is bounded by the watermarks: the bytes queued here are counted, and a segment counts
 * by its whole capacity until it is sealed and the last write of its slices has completed (a slice
 * in the channel keeps the whole chunk alive); above the high mark
 * {@link #isBackPressured()} turns true and stays true until the drain brings them below the low
 * mark. The drain stops while the channel itself is above its (equal) watermark and resumes when it
 * becomes writable again, so a destination that does not read holds at most about twice the high
 * watermark plus one chunk.
 *
 * <p>The connection is made lazily, on the first frame. Frames wait in the queue until the listener
 * accepts our hello. Any failure (connect, rejection, timeout, close) fails every queued frame with
 * the typed cause and removes this object from the transport's cache, so the next send connects
 * afresh.
 */
final class OutboundConnection implements Runnable, NoticeDecoder.Listener {
    static final int CHUNK_SIZE = 256 * 1024;
    static final int MIN_CHUNK_SIZE = 4 * 1024;
    static final int ZERO_COPY_THRESHOLD = 32 * 1024;
    /** The first segment of a thread; later ones grow with use up to the connection's segment limit. */
    static final int MIN_SEGMENT_SIZE = 8 * 1024;
    /** Bytes one drain task moves before it yields the event loop to other work. */
    static final long MAX_BYTES_PER_TASK = 4L * 1024 * 1024;
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;
    /** Passes in a row that find only a producer inside a write before the drain backs off. */
    private static final int MAX_WRITING_PASSES = 64;
    private static final long WRITING_BACKOFF_MICROS = 50;
    /** The longest pause between tries to discard a segment whose producer was inside a write. */
    private static final long STUCK_RETRY_MAX_MILLIS = 100;
    private static final long STUCK_GIVE_UP_SECONDS = 30;
    private static final Logger LOG = LoggerFactory.getLogger(OutboundConnection.class);

    private static final AtomicLongFieldUpdater<OutboundConnection> QUEUED_BYTES =
            AtomicLongFieldUpdater.newUpdater(OutboundConnection.class, "queuedBytes");
    private static final AtomicIntegerFieldUpdater<OutboundConnection> SCHEDULED =
            AtomicIntegerFieldUpdater.newUpdater(OutboundConnection.class, "scheduled");

    private final NettyTransport transport;
    private final Address destination;
    private final EventLoop loop;
    private final int lowWaterMark;
    private final int highWaterMark;
    private final Queue<Object> queue = PlatformDependent.newMpscQueue();
    /** The largest segment: a fraction of the high watermark, so that a few segments never exceed it. */
    private final int segmentLimit;
    /** The longest payload that takes the segment path. */
    private final int appendLimit;

    private volatile long queuedBytes;
    /** 1 while a drain task is pending, or parked waiting for the hello answer or for writability. */
    private volatile int scheduled;
    private volatile boolean backPressured;
    /** Threads in {@link #awaitRoom}; the event loop signals them only if there are any. */
    private volatile int waiters;
    /** Threads in {@link #awaitFlushed}; the event loop signals them only if there are any. */
    private volatile int flushWaiters;
    /** Writes handed to the channel whose promise has not completed. Written by the event loop only. */
    private volatile int pendingWrites;
    /** Failure reports under way ({@link #failQueued}, stuck segments): their frames' bytes are released before they are reported. */
    private final AtomicInteger reporting = new AtomicInteger();
    /** Whether a retry of {@link SegmentWriter#discardStuck()} is scheduled. */
    private final AtomicBoolean stuckRetryPending = new AtomicBoolean();
    private volatile TransportException failure;

    /** Written once on the event loop when connected; read by {@link #isFlushed()} from any thread. */
    private volatile Channel channel;

    // Event loop only.
    private boolean accepted;
    private long peerMaxFrameLength;
    /** The destination's inbox when it lives in this JVM (LOCAL mode), which no socket buffer bounds. */
    private Inbox localPeer;
    private final Runnable wakeFromPeer;
    private boolean draining;
    /** The segments taken from the queue and not yet sealed and written out. */
    private final SegmentWriter segments = new SegmentWriter(this);
    /** Bytes of queued frames handed to the channel so far; with the segments', a pass that changes it made progress. */
    private long handedOver;
    /** The drain task this loop queued for itself, and whether it is still queued. */
    private final Runnable drainTask;
    private boolean drainTaskPending;
    private int writingPasses;
    private ScheduledFuture<?> connectTimeout;

    OutboundConnection(NettyTransport transport, Address destination, EventLoop loop) {
        this.transport = transport;
        this.destination = destination;
        this.loop = loop;
        this.wakeFromPeer = () -> loop.execute(this::resumeAfterPeer);
        this.drainTask = () -> {
            drainTaskPending = false;
            run();
        };
        this.lowWaterMark = transport.config().writeBufferLowWaterMark();
        this.highWaterMark = transport.config().writeBufferHighWaterMark();
        this.segmentLimit = Math.min(CHUNK_SIZE, Math.max(MIN_SEGMENT_SIZE, Integer.highestOneBit(highWaterMark / 8)));
        this.appendLimit = Math.min(ZERO_COPY_THRESHOLD - 1, segmentLimit / 2 - HEADER);
    }

    /** The longest payload that {@link #append} takes; longer ones go through {@link #enqueue}. */
    int appendLimit() {
        return appendLimit;
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
        if (failure != null) {
            channel.close();
        }
    }

    /** The listener accepted our hello and stated the longest payload it takes. */
    @Override
    public void onAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength) {
        if (failure != null) {
            return;
        }
        if (accepted) {
            onFailure(new ProtocolException("send to " + destination + " failed: the listener accepted the connection twice"));
            return;
        }
        accepted = true;
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
        if (accepted && !draining && channel.isWritable()) {
            run();
        }
    }

    /** Fails the connection and everything queued on it; the first cause wins. Event loop only. */
    void onFailure(TransportException cause) {
        if (failure != null) {
            return;
        }
        failure = cause;
        accepted = false;
        if (connectTimeout != null) {
            connectTimeout.cancel(false);
        }
        transport.forget(this);
        if (channel != null) {
            channel.close();
        }
        failQueued(cause);
        scheduled = 0;
        // A sender that saw scheduled == 1 before the reset appended before it: fail that frame too.
        failQueued(cause);
        wakeWaiters();
    }

    /** Whether the queue is above the high watermark; senders wait, offers are refused. */
    boolean isBackPressured() {
        return backPressured;
    }

    /** The failure that ended this connection, or null while it is usable. */
    TransportException failure() {
        return failure;
    }

    /**
     * Appends a frame: a {@link ByteBuf} (failures go to the undeliverable handler) or a {@link
     * PendingSend} (failures complete its future). Any thread.
     */
    void enqueue(Object message, int payloadLength) {
        Appenders.Appender appender = Appenders.existing(this);
        if (appender != null && appender.segment != null) {
            retire(appender, appender.segment); // the thread's later frames go behind this one
        }
        reserve(HEADER + (long) payloadLength);
        queue.offer(message);
        schedule();
    }

    /**
     * Appends a copy of a small frame ({@code length <= appendLimit()}) to the calling thread's
     * segment. Returns false, copying nothing, when a new segment is needed while the queue is above
     * the high watermark. Any thread; allocates nothing while the thread's segment has room.
     */
    boolean append(ByteBuf source, int index, int length) {
        Appenders.Appender appender = Appenders.of(this);
        int bytes = HEADER + length;
        Segment segment = appender.segment;
        if (segment != null) {
            if (segment.fits(bytes) && segment.claim()) {
                write(segment, source, index, length);
                schedule();
                return true;
            }
            retire(appender, segment); // full, or sealed by the event loop once it caught up
        }
        if (backPressured) {
            return false;
        }
        int capacity = Math.max(appender.nextCapacity, Math.max(MIN_SEGMENT_SIZE, bytes));
        segment = new Segment(PooledByteBufAllocator.DEFAULT.directBuffer(capacity, capacity));
        try {
            write(segment, source, index, length); // nobody else sees it yet: no claim needed
        } catch (RuntimeException e) {
            segment.chunk.release();
            throw e;
        }
        appender.segment = segment;
        reserve(capacity);
        queue.offer(segment);
        schedule();
        return true;
    }

    private static void write(Segment segment, ByteBuf source, int index, int length) {
        int at = segment.position();
        ByteBuf chunk = segment.chunk;
        boolean written = false;
        try {
            chunk.setInt(at, length);
            chunk.setBytes(at + HEADER, source, index, length);
            written = true;
        } finally {
            if (written) {
                segment.publish(at + HEADER + length);
            } else {
                segment.abort(); // e.g. a released source: leave the segment as it was, unclaimed
            }
        }
    }

    /** Ends the thread's use of a segment, and sizes its next one by how much of this one it used. */
    private void retire(Appenders.Appender appender, Segment segment) {
        segment.sealByProducer();
        appender.segment = null;
        int used = Math.max(segment.position(), MIN_SEGMENT_SIZE / 2);
        appender.nextCapacity = Math.min(segmentLimit, Integer.highestOneBit(used - 1) << 2);
    }

    /** Counts {@code bytes} about to be queued; above the high watermark, back-pressure starts. */
    private void reserve(long bytes) {
        if (QUEUED_BYTES.addAndGet(this, bytes) > highWaterMark && !backPressured) {
            backPressured = true;
        }
    }

    /** Makes sure a drain task will run after what the caller just queued or published. */
    private void schedule() {
        if (scheduled == 0 && SCHEDULED.compareAndSet(this, 0, 1)) {
            try {
                loop.execute(this);
            } catch (RejectedExecutionException e) {
                transport.sweepAfterClose(this);
                return;
            }
        }
        if (!transport.isOpen()) {
            transport.sweepAfterClose(this);
        }
        if (failure != null) {
            // A thread that found us before we failed queued behind the failure: a flush must wait for its report.
            transport.settleAfterFailure(this);
        }
    }

    /**
     * Waits up to {@code nanos} until the queue falls below the low watermark or the connection
     * fails. Any thread except the event loop.
     */
    void awaitRoom(long nanos) {
        if (loop.inEventLoop()) {
            throw new IllegalStateException("blocking send to " + destination + " called on the transport's own event loop,"
                    + " which must drain the queue it would wait for; use offer() or the future-returning send()");
        }
        long deadline = System.nanoTime() + nanos;
        synchronized (this) {
            waiters++;
            try {
                while (backPressured && failure == null && transport.isOpen()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return;
                    }
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException("send to " + destination + " was interrupted while waiting for room", e);
            } finally {
                waiters--;
            }
        }
    }

    /**
     * Whether everything sent here so far was written to the socket or reported failed: nothing
     * queued, no segment open or still being written, no write in the channel, no failure report
     * under way. After a failure that includes frames queued behind it and segments whose producer
     * was inside a write (reported when it leaves). Any thread.
     */
    boolean isFlushed() {
        // released() lowers the count just before it clears the flag; a write is counted before its bytes are released;
        // a failure report starts before its frames' bytes are released and ends after it reached the handler.
        return queuedBytes <= 0 && !backPressured && pendingWrites == 0 && reporting.get() == 0;
    }

    /**
     * Waits until {@link #isFlushed()} or {@code deadline} ({@link System#nanoTime()}), parked until
     * the event loop signals a change: it never polls. Any thread; on this connection's own event loop
     * it returns false at once if it would have to wait, since that loop must do the writing.
     *
     * @return whether everything was written or failed by the deadline; false at once if the thread
     *     is interrupted while it would wait (its interrupt status stays set)
     */
    boolean awaitFlushed(long deadline) {
        if (isFlushed()) {
            return true;
        }
        if (loop.inEventLoop()) {
            return false;
        }
        synchronized (this) {
            flushWaiters++;
            try {
                while (!isFlushed()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the caller sees false, and why in its interrupt status
                return false;
            } finally {
                flushWaiters--;
            }
        }
    }

    /** Wakes the threads in {@link #awaitFlushed} once there is nothing left to write. Event loop. */
    private void signalIfFlushed() {
        if (flushWaiters > 0 && isFlushed()) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** A write of ours entered the channel; {@code segment} is the segment it is a slice of, or null. Event loop. */
    void writeStarted(Segment segment) {
        if (segment != null) {
            segment.writesInFlight++;
        }
        pendingWrites++; // the only writer: the event loop
    }

    /** A write's promise completed, with success or not. Event loop. */
    void writeFinished(Segment segment) {
        if (segment != null) {
            segments.sliceWritten(segment);
        }
        pendingWrites--;
        signalIfFlushed();
    }

    /** Reports {@code frames} frames without a future that failed to the undeliverable handler. */
    void reportUndeliverable(int frames, TransportException cause) {
        transport.undeliverable(destination, frames, cause);
    }

    /** Whether the channel is connected and below its own watermark: false once the socket is full. Any thread. */
    boolean isChannelWritable() {
        Channel ch = channel;
        return ch != null && ch.isWritable();
    }

    long queuedBytes() {
        return queuedBytes;
    }

    /**
     * The drain task. Event loop only. While a pass moves anything, the next pass is queued behind
     * it and {@code scheduled} stays set, so that producers who keep sending never wake the loop;
     * the first pass that finds nothing new seals idle segments and clears {@code scheduled}.
     */
    @Override
    public void run() {
        TransportException cause = failure;
        if (cause != null) {
            scheduled = 0;
            failQueued(cause);
            return;
        }
        if (!accepted) {
            return; // stays scheduled; onAccepted runs the drain
        }
        draining = true;
        try {
            Channel ch = channel;
            long budget = MAX_BYTES_PER_TASK;
            long before = handedOver + segments.written();
            while (true) {
                do {
                    budget -= drainWhileWritable(ch, budget);
                    ch.flush();
                } while (budget > 0 && ch.isWritable() && !peerFull() && !queue.isEmpty());
                if (!ch.isWritable()) {
                    scheduled = 1; // parked: onWritabilityChanged runs the drain
                    return;
                }
                if (peerFull()) {
                    if (localPeer.parkUntilRoom(wakeFromPeer)) {
                        scheduled = 1; // parked: the in-JVM peer's inbox wakes us when it has room
                        return;
                    }
                    continue; // the peer made room since we looked: drain again
                }
                break;
            }
            if (handedOver + segments.written() != before) {
                writingPasses = 0;
                // Look again in a later task (after other I/O and tasks of this loop): a producer that keeps
                // sending finds "scheduled" set and does not have to wake us.
                scheduled = 1;
                resubmit();
                return;
            }
            scheduled = 0;
            // A producer that published (or was still writing) as it read "scheduled" still set may not have
            // scheduled us: look once more.
            int work = pendingWork();
            if (work != SegmentWriter.NO_WORK && SCHEDULED.compareAndSet(this, 0, 1)) {
                if (work == SegmentWriter.PRODUCER_WRITING && ++writingPasses >= MAX_WRITING_PASSES) {
                    // The producer was descheduled inside a write: do not spin the loop waiting for it.
                    writingPasses = 0;
                    if (!drainTaskPending) {
                        drainTaskPending = true;
                        loop.schedule(drainTask, WRITING_BACKOFF_MICROS, TimeUnit.MICROSECONDS);
                    }
                } else {
                    resubmit();
                }
            }
        } finally {
            draining = false;
        }
    }

    private void resubmit() {
        if (!drainTaskPending) {
            drainTaskPending = true;
            loop.execute(drainTask);
        }
    }

    /** What is left to drain; see {@link SegmentWriter#pendingWork()}. */
    private int pendingWork() {
        return queue.isEmpty() ? segments.pendingWork() : SegmentWriter.DATA;
    }

    private boolean peerFull() {
        return localPeer != null && localPeer.isFull();
    }

    private void resumeAfterPeer() {
        if (accepted && failure == null) {
            run();
        }
    }

    /**
     * Moves queued frames into the channel until it is full, the queue is empty or {@code limit}
     * bytes moved; returns the bytes moved.
     */
    private long drainWhileWritable(Channel ch, long limit) {
        ByteBuf chunk = null;
        WriteCompletion completion = null;
        long moved = 0;
        long dequeued = 0; // bytes of queued frames, which stop counting against the watermark once handed over
        long backlog = queuedBytes;
        while (moved < limit && ch.isWritable() && !peerFull()) {
            Object message = queue.peek();
            if (message == null) {
                break;
            }
            if (message instanceof Segment) {
                queue.poll();
                segments.add((Segment) message);
                continue;
            }
            if (!segments.isEmpty()) {
                // A thread seals its segment before it queues a frame: write what it appended first.
                if (chunk != null) {
                    writeChunk(ch, chunk, completion);
                    chunk = null;
                }
                moved += segments.writeAll(ch, peerMaxFrameLength);
            }
            queue.poll();
            ByteBuf payload;
            CompletableFuture<Void> future;
            if (message instanceof PendingSend) {
                payload = ((PendingSend) message).payload;
                future = ((PendingSend) message).future;
            } else {
                payload = (ByteBuf) message;
                future = null;
            }
            int length = payload.readableBytes();
            moved += HEADER + length;
            dequeued += HEADER + length;
            handedOver += HEADER + length;
            if (length > peerMaxFrameLength) {
                refuseTooLarge(payload, future);
                continue;
            }
            if (chunk != null && chunk.writableBytes() < HEADER + (length >= ZERO_COPY_THRESHOLD ? 0 : length)) {
                completion.write(ch, chunk);
                chunk = null;
            }
            if (chunk == null) {
                // A zero-copy frame's chunk carries only its header and is written at once: no room for more.
                int size = length >= ZERO_COPY_THRESHOLD ? HEADER
                        : (int) Math.max(HEADER + length, Math.min(CHUNK_SIZE, Math.max(backlog - moved + HEADER + length, MIN_CHUNK_SIZE)));
                chunk = ch.alloc().directBuffer(size);
                completion = new WriteCompletion(this);
            }
            chunk.writeInt(length);
            if (length >= ZERO_COPY_THRESHOLD) {
                // Header in the chunk, payload straight from the caller's buffer: no copy.
                WriteCompletion payloadCompletion = new WriteCompletion(this).payloadOf(completion, future);
                completion.write(ch, chunk);
                chunk = null;
                payloadCompletion.write(ch, payload);
            } else {
                chunk.writeBytes(payload, payload.readerIndex(), length);
                payload.release();
                completion.add(future);
            }
        }
        if (chunk != null) {
            writeChunk(ch, chunk, completion);
        }
        if (!segments.isEmpty()) {
            moved += segments.writeAll(ch, peerMaxFrameLength);
        }
        if (dequeued > 0) {
            released(dequeued);
        }
        return moved;
    }

    private static void writeChunk(Channel ch, ByteBuf chunk, WriteCompletion completion) {
        if (chunk.isReadable()) {
            completion.write(ch, chunk);
        } else {
            chunk.release();
        }
    }

    /** Fails one frame that the listener would close the connection for; the connection stays up. */
    private void refuseTooLarge(ByteBuf payload, CompletableFuture<Void> future) {
        FrameTooLargeException cause = tooLarge(payload.readableBytes());
        payload.release();
        if (future != null) {
            future.completeExceptionally(cause);
        } else {
            transport.undeliverable(destination, 1, cause);
        }
    }

    /** Reports a frame in a segment that the listener would close the connection for; the segment writer skips it. */
    void reportTooLarge(int length) {
        transport.undeliverable(destination, 1, tooLarge(length));
    }

    private FrameTooLargeException tooLarge(int length) {
        return new FrameTooLargeException(destination, length, (int) Math.min(Integer.MAX_VALUE, peerMaxFrameLength));
    }

    /** Lowers the queued count by {@code bytes} that left the queue or a segment, and ends back-pressure below the low mark. */
    void released(long bytes) {
        long left = QUEUED_BYTES.addAndGet(this, -bytes);
        if (backPressured && left <= lowWaterMark) {
            backPressured = false;
            wakeWaiters();
        }
        if (left <= 0) {
            signalIfFlushed();
        }
    }

    private void wakeWaiters() {
        if (waiters > 0 || flushWaiters > 0) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /**
     * Fails every queued frame. Called on the event loop, or by {@link NettyTransport} under this
     * object's lock once the event loop has terminated: never by two threads at once.
     */
    void failQueued(TransportException cause) {
        reporting.incrementAndGet();
        try {
            failAndReportQueued(cause);
        } finally {
            endReport();
        }
    }

    private void failAndReportQueued(TransportException cause) {
        int unreported = 0;
        long bytes = 0;
        Object message;
        unreported += segments.discardAll();
        while ((message = queue.poll()) != null) {
            if (message instanceof Segment) {
                unreported += segments.discard((Segment) message);
                continue;
            }
            ByteBuf payload;
            if (message instanceof PendingSend) {
                payload = ((PendingSend) message).payload;
                ((PendingSend) message).future.completeExceptionally(cause);
            } else {
                payload = (ByteBuf) message;
                unreported++;
            }
            bytes += HEADER + payload.readableBytes();
            payload.release();
        }
        if (bytes > 0) {
            released(bytes);
        }
        if (unreported > 0) {
            transport.undeliverable(destination, unreported, cause);
        }
        if (segments.hasStuck()) {
            retryStuckLater(cause);
        }
    }

    /**
     * Discards, a little later, the segments whose producers were inside a write when the
     * connection failed: the event loop never waits for a producer, which may be descheduled, or
     * stopped for good. The retries run on Netty's global executor, since the transport may be
     * closing and its event loop terminating; they back off to {@value #STUCK_RETRY_MAX_MILLIS} ms
     * and end after {@value #STUCK_GIVE_UP_SECONDS} s. Frames are reported once their segment seals.
     */
    private void retryStuckLater(TransportException cause) {
        if (stuckRetryPending.compareAndSet(false, true)) {
            retryStuck(cause, 1, System.nanoTime() + TimeUnit.SECONDS.toNanos(STUCK_GIVE_UP_SECONDS));
        }
    }

    private void retryStuck(TransportException cause, long delayMillis, long giveUpAt) {
        GlobalEventExecutor.INSTANCE.schedule(() -> {
            reporting.incrementAndGet();
            try {
                int frames = segments.discardStuck();
                if (frames > 0) {
                    transport.undeliverable(destination, frames, cause);
                }
            } finally {
                endReport();
            }
            if (!segments.hasStuck()) {
                stuckRetryPending.set(false);
                if (segments.hasStuck()) {
                    retryStuckLater(cause); // kept aside just now, after our look
                }
            } else if (System.nanoTime() - giveUpAt > 0) {
                // Releasing memory that a thread may still write into would be worse than leaving it to the collector.
                LOG.warn("a thread sending to {} has stayed inside a write for {} s since the connection failed; {} segment(s)"
                        + " are left unreleased and their frames unreported", destination, STUCK_GIVE_UP_SECONDS, segments.stuckCount());
            } else {
                retryStuck(cause, Math.min(2 * delayMillis, STUCK_RETRY_MAX_MILLIS), giveUpAt);
            }
        }, delayMillis, TimeUnit.MILLISECONDS);
    }

    private void endReport() {
        if (reporting.decrementAndGet() == 0) {
            signalIfFlushed();
        }
    }

    /** The cause to report for a failed write: the connection's failure if known. */
    TransportException writeFailure(Throwable cause) {
        TransportException known = failure;
        return known != null ? known : Failures.connectionLost(destination, cause);
    }

    /** A queued frame whose sender holds a future. */
    static final class PendingSend {
        final ByteBuf payload;
        final CompletableFuture<Void> future;

        PendingSend(ByteBuf payload, CompletableFuture<Void> future) {
            this.payload = payload;
            this.future = future;
        }
    }
}
