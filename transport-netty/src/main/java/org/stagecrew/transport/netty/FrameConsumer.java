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
 */
final class FrameConsumer {
    private final NettyTransport transport;
    private final Inbox inbox;
    private final ReentrantLock lock = new ReentrantLock();
    private final FrameView view = new FrameView();
    /** The batch being walked, or null; guarded by {@link #lock}. */
    private InboundBatch current;
    private InboundBatch viewed;

    FrameConsumer(NettyTransport transport, Inbox inbox) {
        this.transport = transport;
        this.inbox = inbox;
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
            advance(batch, length);
            return new OwnedFrame(batch.sender, batch.credentials, payload);
        } finally {
            release();
        }
    }

    private int handle(FrameHandler handler, int limit) {
        int handled = 0;
        while (handled < limit) {
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

    /** Releases the batch at hand once the transport is closed, unless a consumer still walks it. */
    void releaseAfterClose() {
        if (lock.tryLock()) {
            try {
                if (current != null) {
                    current.buffer.release();
                    current = null;
                    viewed = null;
                    view.clear();
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
