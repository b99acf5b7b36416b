package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

/**
 * The consuming end of the {@link Inbox}: walks the frames of the batch at hand and takes the next
 * batch when it is used up. Handlers get the reused {@link FrameView}; {@link #receive} cuts an
 * owned slice. One consumer at a time (a lock per call, not per frame), so frames of one sender
 * reach the application in order even when several threads poll.
 *
 * <p>Once the transport is closed no further frame is handed out, not even from the batch at hand;
 * the frames of that batch not handed out are counted in {@link Discards} and it is released
 * exactly once: by {@link #releaseAfterClose} if no consumer walks it, otherwise by the consumer as
 * its call ends. A handler may close the transport: the lock is reentrant, so the close must not
 * release the batch that the handler's own frame lies in.
 */
final class FrameConsumer {
    private final NettyTransport transport;
    private final Inbox inbox;
    private final Discards discards;
    private final ReentrantLock lock = new ReentrantLock();
    private final FrameView view = new FrameView();
    /** The batch being walked, or null; guarded by {@link #lock}. */
    private InboundBatch current;
    private InboundBatch viewed;

    /** A consumer whose discarded frames are counted nowhere; for benchmarks that build one beside a transport. */
    FrameConsumer(NettyTransport transport, Inbox inbox) {
        this(transport, inbox, new Discards());
    }

    FrameConsumer(NettyTransport transport, Inbox inbox, Discards discards) {
        this.transport = transport;
        this.inbox = inbox;
        this.discards = discards;
    }

    /** Whether frames are waiting, in the inbox or in the batch at hand. */
    boolean hasFrames() {
        return inbox.frames() > 0;
    }

    int poll(FrameHandler handler, int limit, Duration timeout) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive, was: " + limit);
        }
        long deadline = timeout == null ? 0 : System.nanoTime() + timeout.toNanos();
        if (!acquire(timeout)) {
            return 0;
        }
        try {
            if (current == null && timeout != null) {
                current = inbox.take(deadline - System.nanoTime());
            }
            return handle(handler, limit);
        } finally {
            release();
        }
    }

    Frame receive(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!acquire(timeout)) {
            return null;
        }
        try {
            InboundBatch batch = current;
            if (batch == null) {
                batch = inbox.take(deadline - System.nanoTime());
                if (batch == null) {
                    return null;
                }
                current = batch;
            }
            ByteBuf buffer = batch.buffer;
            int length = buffer.getInt(batch.cursor);
            ByteBuf payload = buffer.retainedSlice(batch.cursor + Protocol.LENGTH_FIELD_LENGTH, length);
            OwnedFrame frame = new OwnedFrame(batch.sender, batch.credentials, payload);
            advance(batch, length); // the last frame's advance gives the batch object back to the inbox
            return frame;
        } finally {
            release();
        }
    }

    private int handle(FrameHandler handler, int limit) {
        int handled = 0;
        // A handler may have closed the transport: hand out nothing more (the volatile read is one load per frame).
        while (handled < limit && transport.isOpen()) {
            InboundBatch batch = current;
            if (batch == null) {
                batch = inbox.poll();
                if (batch == null) {
                    break;
                }
                current = batch;
            }
            if (viewed != batch) {
                view.batch(batch);
                viewed = batch;
            }
            int length = (int) Protocol.lengthAt(batch.buffer, batch.address, batch.cursor);
            view.frame(batch.cursor + Protocol.LENGTH_FIELD_LENGTH, length);
            handled++;
            try {
                handler.onFrame(view);
            } finally {
                advance(batch, length);
            }
        }
        return handled;
    }

    private void advance(InboundBatch batch, int length) {
        batch.cursor += Protocol.LENGTH_FIELD_LENGTH + length;
        if (--batch.remaining == 0) {
            current = null;
            if (viewed == batch) {
                viewed = null;
                view.clear();
            }
            inbox.consumed(batch);
        }
    }

    /** Whether the calling thread is inside a consumer's call, e.g. in a poll handler. */
    boolean isHeldByCurrentThread() {
        return lock.isHeldByCurrentThread();
    }

    private boolean acquire(Duration timeout) {
        if (!transport.isOpen()) {
            // A fresh exception, so that its stack trace shows the caller rather than the transport's construction.
            throw new TransportClosedException("receive on " + transport.address() + " failed: the transport is closed");
        }
        try {
            if (timeout == null) {
                lock.lock();
                return true;
            }
            return lock.tryLock(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("receive on " + transport.address() + " was interrupted", e);
        }
    }

    private void release() {
        lock.unlock();
        if (!transport.isOpen()) {
            releaseAfterClose();
        }
    }

    /**
     * Once the transport is closed, counts the frames of the batch at hand that were not handed out
     * as discarded and releases it, unless a consumer on another thread still walks it (that
     * consumer does this as its call ends). Called from a handler, that is inside a consumer's call
     * on this thread, it counts all but the frame being handled and leaves the release to the
     * consumer, whose frame view is still in use.
     */
    void releaseAfterClose() {
        if (lock.tryLock()) {
            try {
                InboundBatch batch = current;
                if (batch == null) {
                    return;
                }
                if (lock.getHoldCount() > 1) {
                    // Inside a handler: the frame at the cursor is being handled and its advance() will come.
                    discards.add(batch.sender, batch.remaining - 1);
                    batch.remaining = 1;
                    return;
                }
                discards.add(batch.sender, batch.remaining);
                current = null;
                if (viewed == batch) {
                    viewed = null;
                    view.clear();
                }
                inbox.consumed(batch);
            } finally {
                lock.unlock();
            }
        }
    }
}
