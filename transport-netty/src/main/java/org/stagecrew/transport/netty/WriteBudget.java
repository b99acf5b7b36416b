package org.stagecrew.transport.netty;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
    private static final AtomicLongFieldUpdater<WriteBudget> STATE =
            AtomicLongFieldUpdater.newUpdater(WriteBudget.class, "state");
    /** The low bit of {@link #state}; the bytes held are the rest, shifted (signed: a release may run ahead). */
    private static final long BACK_PRESSURED = 1;

    private final Address destination;
    private final int lowWaterMark;
    private final int highWaterMark;
    private final ConnectionState connection;
    /** Whether the transport is still open; a waiter gives up once it is not. */
    private final BooleanSupplier transportOpen;

    /**
     * The bytes held and the back-pressure flag in one word ({@code bytes << 1 | flag}), so that a
     * reserve and a release that race cannot leave the flag wrong for the count: each moves both
     * with one CAS.
     */
    private volatile long state;
    /** Threads in {@link #awaitRoom}; the event loop signals them only if there are any. */
    private volatile int waiters;
    /** Threads in {@link #awaitFlushed}; the event loop signals them only if there are any. */
    private volatile int flushWaiters;
    /** Failure reports under way: their frames' bytes are released before the frames reach the handler. */
    private final AtomicInteger reporting = new AtomicInteger();
    /** Writes handed to the channel whose promise has not completed. Written by the event loop only. */
    private volatile int pendingWrites;

    WriteBudget(Address destination, int lowWaterMark, int highWaterMark, ConnectionState state, BooleanSupplier transportOpen) {
        this.destination = destination;
        this.lowWaterMark = lowWaterMark;
        this.highWaterMark = highWaterMark;
        this.connection = state;
        this.transportOpen = transportOpen;
    }

    /** Whether the count is above the high watermark (and has not yet come down to the low one). */
    boolean isBackPressured() {
        return (state & BACK_PRESSURED) != 0;
    }

    long queuedBytes() {
        return state >> 1;
    }

    /** Counts {@code bytes} about to be queued; above the high watermark, back-pressure starts. Any thread. */
    void reserve(long bytes) {
        long s;
        long next;
        do {
            s = state;
            long held = (s >> 1) + bytes;
            next = held << 1 | (held > highWaterMark ? BACK_PRESSURED : s & BACK_PRESSURED);
        } while (!STATE.compareAndSet(this, s, next));
    }

    /** Lowers the count by {@code bytes} that left the queue or a segment, and ends back-pressure at the low mark. */
    void release(long bytes) {
        long s;
        long left;
        boolean ended;
        do {
            s = state;
            left = (s >> 1) - bytes;
            ended = (s & BACK_PRESSURED) != 0 && left <= lowWaterMark;
            // Clears the flag only at the low mark, and never clears one that a racing reserve set above the high mark.
        } while (!STATE.compareAndSet(this, s, left << 1 | (ended ? 0 : s & BACK_PRESSURED)));
        if (ended) {
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

    /** Writes handed to the channel and not completed yet. Any thread; a snapshot. */
    int pendingWrites() {
        return pendingWrites;
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
                while (isBackPressured() && connection.failure() == null && transportOpen.getAsBoolean()) {
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
     * Whether everything counted was written or reported failed: nothing queued, no segment open or
     * still being written, no write in the channel, no failure report under way. After a failure that
     * includes frames queued behind it and segments whose producer was inside a write (reported when
     * it leaves). Any thread.
     */
    boolean isFlushed() {
        // A write is counted before its bytes are released, so nothing written is missed between the two reads;
        // a failure report begins before its frames' bytes are released and ends after they were reported.
        long s = state;
        return s <= 0 && (s & BACK_PRESSURED) == 0 && pendingWrites == 0 && reporting.get() == 0;
    }

    /**
     * Whether no write handed to the channel is still outstanding and no failure report is under
     * way; unlike {@link #isFlushed()} it ignores bytes that producers still hold inside a write
     * (they are reported once the producer leaves it). What a closing transport waits for.
     */
    boolean isSettled() {
        return pendingWrites == 0 && reporting.get() == 0;
    }

    /** A failure report begins: until {@link #endReport()}, nothing is flushed. Any thread. */
    void beginReport() {
        reporting.incrementAndGet();
    }

    /** The failure report begun last has reached the handler; wakes flush waiters if that was the last one. */
    void endReport() {
        if (reporting.decrementAndGet() == 0) {
            signalIfFlushed();
        }
    }

    /**
     * Waits until {@link #isFlushed()} or {@code deadline} ({@link System#nanoTime()}), parked until
     * the event loop signals a change. Any thread except the connection's event loop (the caller checks).
     *
     * @return whether everything was written or failed by the deadline; false at once if the thread
     *     is interrupted while it would wait (its interrupt status stays set)
     */
    boolean awaitFlushed(long deadline) {
        return await(this::isFlushed, deadline);
    }

    /** As {@link #awaitFlushed}, until {@link #isSettled()}. */
    boolean awaitSettled(long deadline) {
        return await(this::isSettled, deadline);
    }

    private boolean await(BooleanSupplier done, long deadline) {
        synchronized (this) {
            flushWaiters++;
            try {
                while (!done.getAsBoolean()) {
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

    /** Wakes the threads in {@link #awaitFlushed} and {@link #awaitSettled} once they may be done. */
    private void signalIfFlushed() {
        if (flushWaiters > 0 && isSettled()) { // isFlushed() implies it; a flush waiter looks again
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
