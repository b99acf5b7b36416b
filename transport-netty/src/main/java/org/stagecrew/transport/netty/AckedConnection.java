package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * One acknowledged stream (protocol version 2, kind STREAM) from this transport to one
 * destination: it keeps every frame until the destination acknowledges it, and outlives the
 * connections that carry it.
 *
 * <pre>
 *   idle --frame--> connecting --ACCEPTED(resume)--> streaming --ACK n--> (frames below n complete)
 *     ^                 |  ^                            |
 *     |                 |  +----backoff (10 ms..1 s)----+ connection lost, refused, destination closing
 *     +--all acknowledged, connection lost              |
 *                       +--- unreachable for the whole redelivery window, rejected, transport closed --> ended
 * </pre>
 *
 * <p>The frames wait in {@link AckedFrames}, numbered implicitly. A new connection's hello states
 * the oldest frame not acknowledged; the listener answers where to resume, and the frames from there
 * on are written again, so the destination never gets one twice within one incarnation, and a new
 * incarnation gets all of them. Every frame held counts against the write watermarks ({@link
 * WriteBudget}) until it is acknowledged or failed.
 *
 * <p>{@link #add} and {@link #end}: any thread. The rest: the event loop.
 */
final class AckedConnection implements NoticeDecoder.Listener {
    static final long MIN_BACKOFF_MILLIS = 10;
    static final long MAX_BACKOFF_MILLIS = 1_000;

    private final NettyTransport transport;
    private final AckedSends owner;
    private final Address destination;
    private final EventLoop loop;
    private final long incarnation;
    private final Duration window;
    private final ConnectionState life;
    private final WriteBudget budget;
    /** The destination's counters: a frame counts as sent once acknowledged. Released when the stream ends. */
    private final PeerCounters counters;
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;

    private final AckedFrames frames = new AckedFrames();

    // Event loop only.
    private final ArrayList<AckedFrames.Held> completing = new ArrayList<>();
    private Channel channel;
    private boolean accepted;
    private long peerMaxFrameLength;
    /** The listener incarnation that accepted the latest connection (for debugging: resume numbers say all). */
    private long listenerIncarnation;
    /** ACK notices received; written by the event loop only. */
    private volatile long acksReceived;
    private long downSince = -1;
    private TransportException lastFailure;
    private long backoffMillis = MIN_BACKOFF_MILLIS;
    private ScheduledFuture<?> connectTimeout;
    private ScheduledFuture<?> retry;
    private ScheduledFuture<?> windowEnd;

    AckedConnection(NettyTransport transport, AckedSends owner, Address destination, EventLoop loop, long incarnation) {
        this.transport = transport;
        this.owner = owner;
        this.destination = destination;
        this.loop = loop;
        this.incarnation = incarnation;
        this.window = transport.config().delivery().redeliveryWindow();
        this.life = new ConnectionState(destination);
        this.budget = new WriteBudget(destination, transport.config().writeBufferLowWaterMark(),
                transport.config().writeBufferHighWaterMark(), life, transport::isOpen);
        life.accept(); // CONNECTING/ACCEPTED of the connections is tracked here; life only ends (FAILED)
        this.counters = transport.counters().outbound(destination);
    }

    Address destination() {
        return destination;
    }

    WriteBudget budget() {
        return budget;
    }

    PeerCounters counters() {
        return counters;
    }

    EventLoop loop() {
        return loop;
    }

    /** ACK notices received so far; for tests. */
    long acksReceived() {
        return acksReceived;
    }

    /** Holds an encoded frame ({@code [u32 length][payload]}) until acknowledged; null, or the cause that ended this stream (frame not taken). Any thread. */
    TransportException add(ByteBuf frame, CompletableFuture<Void> future) {
        budget.reserve(frame.capacity());
        TransportException ended = frames.add(new AckedFrames.Held(frame, future));
        if (ended != null) {
            budget.release(frame.capacity());
            return ended;
        }
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(drainTask);
            } catch (RejectedExecutionException e) {
                end(new TransportException("send to " + destination + " failed: the event loop has stopped", e));
            }
        }
        return null;
    }

    // ---- connecting: event loop ----

    private void connect() {
        if (frames.isEnded()) {
            return;
        }
        ChannelFuture attempt;
        try {
            attempt = transport.connect(destination, loop, this);
        } catch (TransportException e) {
            end(e);
            return;
        }
        Channel ch = attempt.channel();
        channel = ch;
        accepted = false;
        long timeoutMillis = transport.config().connectTimeout().toMillis();
        connectTimeout = loop.schedule(() -> lost(ch, new TransportTimeoutException("connect to " + destination
                + " timed out after " + timeoutMillis + " ms without an answer to our hello")), timeoutMillis, TimeUnit.MILLISECONDS);
        attempt.addListener(f -> {
            if (!f.isSuccess()) {
                lost(ch, Failures.connectFailed(destination, transport.usesFiles(destination), f.cause()));
            }
        });
    }

    @Override
    public ByteBuf hello(ByteBufAllocator alloc, Address self) {
        return ProtocolV2.encodeStreamHello(alloc, self, incarnation, frames.first());
    }

    @Override
    public void onAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength) {
        if (ctx.channel() != channel) {
            ctx.close();
            return;
        }
        end(new ProtocolException("send to " + destination + " failed: the listener accepted an acknowledged stream without"
                + " stating where to resume (a version 1 ACCEPTED)"));
    }

    @Override
    public void onStreamAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength, long listenerIncarnation, long resume) {
        if (ctx.channel() != channel) {
            ctx.close(); // a connection we have given up (timed out, say), whose answer came late
            return;
        }
        if (accepted) {
            end(new ProtocolException("send to " + destination + " failed: the listener accepted the stream twice"));
            return;
        }
        if (!frames.resumeAt(resume)) {
            end(new ProtocolException("send to " + destination + " failed: the listener asked to resume at frame " + resume
                    + ", outside the frames " + frames.first() + ".." + frames.written() + " it may still lack"));
            return;
        }
        connectTimeout.cancel(false);
        accepted = true;
        counters.opened();
        this.peerMaxFrameLength = peerMaxFrameLength;
        this.listenerIncarnation = listenerIncarnation;
        downSince = -1;
        backoffMillis = MIN_BACKOFF_MILLIS;
        if (windowEnd != null) {
            windowEnd.cancel(false);
            windowEnd = null;
        }
        drain();
    }

    @Override
    public boolean onAck(ChannelHandlerContext ctx, long acknowledged) {
        if (ctx.channel() != channel || !accepted) {
            return true; // a connection we have given up
        }
        acksReceived++; // the event loop is the only writer
        long bytes = frames.acknowledge(acknowledged, completing);
        if (bytes < 0) {
            end(new ProtocolException("send to " + destination + " failed: the listener acknowledged frame "
                    + (acknowledged - 1) + ", which was never written (" + frames.written() + " were)"));
            return true;
        }
        budget.release(bytes);
        long sent = 0;
        for (int i = 0; i < completing.size(); i++) {
            sent += completing.get(i).frame.readableBytes();
        }
        counters.sent(completing.size(), sent); // before the futures complete: a caller that waited for them sees it
        counters.queued(budget.queuedBytes());
        for (int i = 0; i < completing.size(); i++) {
            AckedFrames.Held h = completing.get(i);
            h.frame.release();
            if (h.future != null) {
                h.future.complete(null);
            }
        }
        completing.clear();
        return true;
    }

    @Override
    public void onFailure(ChannelHandlerContext ctx, TransportException cause) {
        lost(ctx.channel(), cause);
    }

    @Override
    public void onWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel() == channel && accepted && channel.isWritable()) {
            drain();
        }
    }

    /** The connection {@code ch} failed: end the stream if the cause is final, else reconnect after a backoff. Event loop. */
    private void lost(Channel ch, TransportException cause) {
        if (ch != channel) {
            return; // an older attempt
        }
        channel = null;
        counters.connectionEnded(accepted, cause, transport.isOpen());
        accepted = false;
        connectTimeout.cancel(false);
        ch.close();
        TransportException fatal = Failures.endingStream(destination, cause);
        if (fatal != null) {
            end(fatal);
            return;
        }
        lastFailure = cause;
        if (!frames.isHolding()) {
            downSince = -1; // nothing waits: the next frame connects again
            return;
        }
        if (downSince < 0) {
            downSince = System.nanoTime();
            windowEnd = loop.schedule(this::windowEnded, window.toNanos(), TimeUnit.NANOSECONDS);
        }
        retry = loop.schedule(() -> {
            retry = null;
            connect();
        }, backoffMillis, TimeUnit.MILLISECONDS);
        backoffMillis = Math.min(2 * backoffMillis, MAX_BACKOFF_MILLIS);
    }

    private void windowEnded() {
        windowEnd = null;
        if (channel != null && accepted) {
            return;
        }
        end(Failures.notAcknowledged(destination, window, lastFailure));
    }

    // ---- writing: event loop ----

    /**
     * One drain pass. A pass that wrote something runs again as the loop's next task, so that while
     * frames flow the senders find the drain scheduled and wake nobody; a pass that finds nothing
     * goes idle, and looks once more after clearing the flag.
     */
    private void drain() {
        if (channel == null || !accepted) {
            drainScheduled.set(false);
            if (channel == null && retry == null && downSince < 0) {
                connect(); // idle: the first frame connects
            }
            return; // else onStreamAccepted drains
        }
        Channel ch = channel;
        boolean wrote = false;
        while (ch.isWritable()) {
            ByteBuf out = frames.take(ch.alloc(), peerMaxFrameLength);
            if (out != null) {
                ch.write(out, ch.voidPromise());
                wrote = true;
            } else if (!failTooLarge()) {
                break;
            }
        }
        if (wrote) {
            ch.flush();
            if (ch.isWritable()) {
                loop.execute(drainTask); // stays scheduled
                return;
            }
        }
        drainScheduled.set(false); // idle, or unwritable until onWritabilityChanged
        if (ch.isWritable() && frames.hasQueued() && drainScheduled.compareAndSet(false, true)) {
            loop.execute(drainTask);
        }
    }

    /** Fails the first queued frame if the listener takes no payload that long; returns whether it did. */
    private boolean failTooLarge() {
        AckedFrames.Held h = frames.takeTooLarge(peerMaxFrameLength);
        if (h == null) {
            return false;
        }
        int length = h.frame.readableBytes() - Protocol.LENGTH_FIELD_LENGTH;
        TransportException cause = new FrameTooLargeException(destination, length,
                (int) Math.min(Integer.MAX_VALUE, peerMaxFrameLength));
        budget.release(h.frame.capacity());
        h.frame.release();
        counters.failed(cause, 1);
        if (h.future != null) {
            h.future.completeExceptionally(cause);
        } else {
            transport.undeliverable(destination, 1, cause);
        }
        return true;
    }

    // ---- the end: any thread ----

    /**
     * Ends the stream: fails every frame held with {@code cause} (futures, or the undeliverable
     * handler), releases them and their watermark budget, and forgets this stream so that the next
     * send starts a new one. The first cause wins. Any thread.
     */
    void end(TransportException cause) {
        List<AckedFrames.Held> failing = frames.end(cause);
        if (failing == null) {
            return;
        }
        life.fail(cause);
        owner.forget(this);
        counters.failed(cause, failing.size());
        budget.beginReport();
        try {
            long bytes = 0;
            int reported = 0;
            for (AckedFrames.Held h : failing) {
                bytes += h.frame.capacity();
                h.frame.release();
                if (h.future != null) {
                    h.future.completeExceptionally(cause);
                } else {
                    reported++;
                }
            }
            budget.release(bytes);
            if (reported > 0) {
                transport.undeliverable(destination, reported, cause);
            }
        } finally {
            budget.endReport();
        }
        budget.wakeAll();
        try {
            loop.execute(this::closeChannel);
        } catch (RejectedExecutionException e) {
            counters.release(); // the event loop has stopped, and closed our channel with it
        }
    }

    private void closeChannel() {
        for (ScheduledFuture<?> timer : new ScheduledFuture<?>[] {connectTimeout, retry, windowEnd}) {
            if (timer != null) {
                timer.cancel(false);
            }
        }
        if (channel != null) {
            if (accepted) {
                counters.closed(transport.isOpen());
            }
            channel.close();
            channel = null;
        }
        counters.release();
    }
}
