package org.stagecrew.concurrency;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

/**
 * One transport's inbox scheduled on a worker pool, actor style: frames arriving wake it (one task
 * on the pool, never two at once), the task hands up to {@value #BURST} frames to the handler one at
 * a time and reschedules itself while frames remain, so a busy transport does not starve the others.
 *
 * <pre>
 *  idle --wake--> scheduled --run--> running --burst done, frames left--> scheduled
 *                                       |--no frames left--> idle
 *  any --close()--> closed: no handler call starts after close() returned; a running one is waited for
 *  any --transport closed (listener run on close)--> closed and removed from the pool
 * </pre>
 *
 * <p>A handler that throws is logged with the sender's address and counted; the worker goes on. A
 * {@link VirtualMachineError} is counted and logged too, the mailbox is rescheduled if frames wait,
 * and then the error propagates (the pool replaces the worker thread).
 */
final class Mailbox implements Subscription, Runnable, FrameHandler {
    private static final Logger LOG = LoggerFactory.getLogger(Mailbox.class);
    static final int BURST = 256;
    /** How long a worker waits for another consumer of the same transport before it yields. */
    private static final Duration CONTENDED_WAIT = Duration.ofMillis(10);

    private final Transport transport;
    private final FrameSignals signals;
    private final FrameHandler handler;
    private final Executor executor;
    private final Consumer<Mailbox> onClose;
    private final Runnable listener = this::wake;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicLong failed = new AtomicLong();
    private volatile long handled;
    private volatile boolean closed;
    /** Frames handed to the handler in the running burst; only the running worker touches it. */
    private int burst;
    /** The worker running the handler loop, or null; guarded by {@code this}. */
    private Thread runner;

    Mailbox(Transport transport, FrameHandler handler, Executor executor, Consumer<Mailbox> onClose) {
        this.transport = transport;
        this.signals = FrameSignals.of(transport);
        this.handler = handler;
        this.executor = executor;
        this.onClose = onClose;
    }

    /** Starts serving: frames that are already waiting are handled too. */
    void open() {
        signals.onFramesAvailable(listener);
        if (closed) { // closed while it was being added: close() may have missed the listener
            signals.removeFramesAvailableListener(listener);
            return;
        }
        wake();
    }

    /** Called on the transport's event loop when frames arrive or it closes, and by the worker itself. */
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
        synchronized (this) {
            if (closed) {
                scheduled.set(false);
                return;
            }
            runner = Thread.currentThread();
        }
        boolean transportClosed = false;
        boolean more = false;
        burst = 0;
        try {
            more = handleBurst();
        } catch (TransportClosedException e) {
            transportClosed = true;
        } catch (TransportException e) {
            // Interrupted while waiting for the inbox: the pool is being shut down now.
            LOG.debug("worker serving {} interrupted: {}", transport.address(), e.toString());
        } finally {
            handled += burst;
            synchronized (this) {
                runner = null;
                notifyAll();
            }
            if (transportClosed || !transport.isOpen()) {
                close(); // on the worker, so it does not wait for itself
            } else {
                reschedule(more);
            }
        }
    }

    /** Hands frames to the handler one at a time, so that a close stops it between two; returns whether to go on. */
    private boolean handleBurst() {
        Thread self = Thread.currentThread();
        while (burst < BURST) {
            if (closed || self.isInterrupted()) {
                return !closed; // an interrupt from a handler ends the burst; shutdownNow rejects the rescheduling
            }
            if (transport.poll(this, 1, Duration.ZERO) == 0) {
                if (!signals.hasFrames()) {
                    return false;
                }
                // Another consumer holds the inbox: wait a little for it, interruptibly, then let other mailboxes run.
                if (transport.poll(this, 1, CONTENDED_WAIT) == 0) {
                    return signals.hasFrames();
                }
            }
        }
        return true;
    }

    private void reschedule(boolean more) {
        if (more && !closed) {
            try {
                executor.execute(this); // still scheduled: let other mailboxes run first
                return;
            } catch (RejectedExecutionException e) {
                // the pool is shutting down: unschedule
            }
        }
        scheduled.set(false);
        // Frames that arrived after the last poll saw scheduled == true and did not wake us.
        if (!closed && transport.isOpen() && signals.hasFrames()) {
            wake();
        }
    }

    /** Hands one frame to the user's handler; runs on a worker thread. */
    @Override
    public void onFrame(Frame frame) {
        burst++;
        try {
            handler.onFrame(frame);
        } catch (VirtualMachineError fatal) {
            failed.incrementAndGet();
            LOG.error("handler for {} threw {} on a frame of {} bytes from {}; the frame is dropped, the worker thread is replaced",
                    transport.address(), fatal, frame.payload().readableBytes(), frame.sender());
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
        close(DEFAULT_CLOSE_TIMEOUT.toNanos());
    }

    /** Closes and waits up to {@code nanos} for a running handler; returns whether none runs any more. */
    boolean close(long nanos) {
        boolean first;
        synchronized (this) {
            first = !closed;
            closed = true;
        }
        if (first) {
            signals.removeFramesAvailableListener(listener);
            onClose.accept(this);
        }
        long deadline = System.nanoTime() + nanos;
        boolean interrupted = false;
        try {
            synchronized (this) {
                while (runner != null && runner != Thread.currentThread()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        LOG.warn("closing the subscription of {}: its handler did not return within {} ms; it goes on in {}",
                                transport.address(), TimeUnit.NANOSECONDS.toMillis(nanos), runner.getName());
                        return false;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(this, left);
                    } catch (InterruptedException e) {
                        interrupted = true; // keep waiting the bounded time; restore the flag after
                    }
                }
                return true;
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
