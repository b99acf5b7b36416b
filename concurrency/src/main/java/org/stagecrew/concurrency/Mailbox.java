package org.stagecrew.concurrency;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;

/**
 * One transport's inbox scheduled on a worker pool, actor style: frames arriving wake it (one task
 * on the pool, never two at once), the task hands up to {@value #BURST} frames to the handler and
 * reschedules itself while frames remain, so a busy transport does not starve the others. A handler
 * that throws is logged with the sender's address and counted; the worker goes on.
 */
final class Mailbox implements Subscription, Runnable, FrameHandler {
    private static final Logger LOG = LoggerFactory.getLogger(Mailbox.class);
    static final int BURST = 256;

    private final Transport transport;
    private final FrameHandler handler;
    private final Executor executor;
    private final Consumer<Mailbox> onClose;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicLong failed = new AtomicLong();
    private volatile long handled;
    private volatile boolean closed;

    Mailbox(Transport transport, FrameHandler handler, Executor executor, Consumer<Mailbox> onClose) {
        this.transport = transport;
        this.handler = handler;
        this.executor = executor;
        this.onClose = onClose;
    }

    /** Starts serving: frames that are already waiting are handled too. */
    void open() {
        transport.onFramesAvailable(this::wake);
        wake();
    }

    /** Called on the transport's event loop when frames arrive, and by the worker itself. */
    void wake() {
        if (!closed && scheduled.compareAndSet(false, true)) {
            try {
                executor.execute(this);
            } catch (RejectedExecutionException e) {
                scheduled.set(false); // the pool is shutting down
            }
        }
    }

    @Override
    public void run() {
        int count;
        try {
            count = closed ? 0 : transport.poll(this, BURST);
        } catch (TransportClosedException e) {
            closed = true;
            return;
        } catch (Throwable t) {
            // A fatal error from a handler (onFrame rethrows only those): stay servable, then let it propagate.
            scheduled.set(false);
            throw t;
        }
        handled += count;
        if (count == BURST) {
            try {
                executor.execute(this); // still scheduled: let other mailboxes run first
                return;
            } catch (RejectedExecutionException e) {
                // the pool is shutting down: fall through and unschedule
            }
        }
        scheduled.set(false);
        // Frames that arrived after poll looked saw scheduled == true and did not wake us.
        if (!closed && transport.isOpen() && transport.hasFrames()) {
            wake();
        }
    }

    /** Hands one frame to the user's handler; runs on a worker thread. */
    @Override
    public void onFrame(Frame frame) {
        try {
            handler.onFrame(frame);
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable e) {
            failed.incrementAndGet();
            LOG.warn("handler for {} threw on a frame of {} bytes from {}; the frame is dropped, the worker goes on",
                    transport.address(), frame.payload().readableBytes(), frame.sender(), e);
        }
    }

    @Override
    public Transport transport() {
        return transport;
    }

    @Override
    public long handled() {
        return handled;
    }

    @Override
    public long failed() {
        return failed.get();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            transport.onFramesAvailable(null);
            onClose.accept(this);
        }
    }
}
