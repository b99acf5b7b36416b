package org.stagecrew.transport.netty;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.function.BooleanSupplier;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportException;

/**
 * The write budget of one {@link OutboundConnection}: the bytes it holds against its watermarks,
 * whether it is back-pressured, and the threads that wait for room or for everything to be written.
 *
 * <p>Senders ({@link #reserve}) count what they queue: a frame by its encoded length, a segment by
 * its whole capacity. Above the high watermark the budget turns back-pressured; it stays so until
 * the event loop ({@link #release}) brings the count down to the low watermark, and then wakes the
 * senders parked in {@link #awaitRoom}. A waiter parks on this object's monitor and is woken by a
 * {@code notifyAll} under the same monitor, after the change it waits for is visible: it never
 * polls, and a wake-up cannot fall between its check and its wait.
 *
 * <p>{@link #reserve} and the reads: any thread. {@link #release}, {@link #writeStarted} and
 * {@link #writeFinished}: the event loop (or the one thread that fails what is left after the loop
 * terminated).
 */
final class WriteBudget {
    private static final AtomicLongFieldUpdater<WriteBudget> QUEUED_BYTES =
            AtomicLongFieldUpdater.newUpdater(WriteBudget.class, "queuedBytes");

    private final Address destination;
    private final int lowWaterMark;
    private final int highWaterMark;
    private final ConnectionState state;
    /** Whether the transport is still open; a waiter gives up once it is not. */
    private final BooleanSupplier transportOpen;

    private volatile long queuedBytes;
    private volatile boolean backPressured;
    /** Threads in {@link #awaitRoom}; the event loop signals them only if there are any. */
    private volatile int waiters;
    /** Threads in {@link #awaitFlushed}; the event loop signals them only if there are any. */
    private volatile int flushWaiters;
    /** Writes handed to the channel whose promise has not completed. Written by the event loop only. */
    private volatile int pendingWrites;

    WriteBudget(Address destination, int lowWaterMark, int highWaterMark, ConnectionState state, BooleanSupplier transportOpen) {
        this.destination = destination;
        this.lowWaterMark = lowWaterMark;
        this.highWaterMark = highWaterMark;
        this.state = state;
        this.transportOpen = transportOpen;
    }

    /** Whether the count is above the high watermark (and has not yet come down to the low one). */
    boolean isBackPressured() {
        return backPressured;
    }

    long queuedBytes() {
        return queuedBytes;
    }

    /** Counts {@code bytes} about to be queued; above the high watermark, back-pressure starts. Any thread. */
    void reserve(long bytes) {
        if (QUEUED_BYTES.addAndGet(this, bytes) > highWaterMark && !backPressured) {
            backPressured = true;
        }
    }

    /** Lowers the count by {@code bytes} that left the queue or a segment, and ends back-pressure at the low mark. */
    void release(long bytes) {
        long left = QUEUED_BYTES.addAndGet(this, -bytes);
        if (backPressured && left <= lowWaterMark) {
            backPressured = false;
            wakeAll();
        }
        if (left <= 0) {
            signalIfFlushed();
        }
    }

    /** A write entered the channel. Event loop. */
    void writeStarted() {
        pendingWrites++; // the only writer: the event loop
    }

    /** A write's promise completed, with success or not. Event loop. */
    void writeFinished() {
        pendingWrites--;
        signalIfFlushed();
    }

    /**
     * Waits up to {@code nanos} while the budget is back-pressured and the connection has neither
     * failed nor its transport closed. Any thread except the connection's event loop (the caller
     * checks), which must do the draining that ends the wait.
     *
     * @throws TransportException if the thread is interrupted (its interrupt status stays set)
     */
    void awaitRoom(long nanos) {
        long deadline = System.nanoTime() + nanos;
        synchronized (this) {
            waiters++;
            try {
                while (backPressured && state.failure() == null && transportOpen.getAsBoolean()) {
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
     * Whether everything counted was written or failed: nothing queued, no segment open or still
     * being written, no write in the channel. Any thread.
     */
    boolean isFlushed() {
        if (state.failure() != null) {
            return true;
        }
        // release() lowers the count just before it clears the flag; a write is counted before its bytes are released.
        return queuedBytes <= 0 && !backPressured && pendingWrites == 0;
    }

    /**
     * Waits until {@link #isFlushed()} or {@code deadline} ({@link System#nanoTime()}), parked until
     * the event loop signals a change. Any thread except the connection's event loop (the caller checks).
     *
     * @return whether everything was written or failed by the deadline; false at once if the thread
     *     is interrupted while it would wait (its interrupt status stays set)
     */
    boolean awaitFlushed(long deadline) {
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

    /** Wakes the threads in {@link #awaitFlushed} once there is nothing left to write. */
    private void signalIfFlushed() {
        if (flushWaiters > 0 && isFlushed()) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** Wakes every waiter, to look again: room was made, or the connection failed. */
    void wakeAll() {
        if (waiters > 0 || flushWaiters > 0) {
            synchronized (this) {
                notifyAll();
            }
        }
    }
}
