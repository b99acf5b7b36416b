package org.stagecrew.transport.netty;

import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Decides when the event loop drains one {@link OutboundConnection}: the hand-off from any number
 * of sending threads to the one event loop, with one flag and no lock.
 *
 * <p>{@code scheduled} is 1 while a drain task is queued or running, or while the drain is parked
 * (waiting for the hello answer, for the channel to become writable, or for an in-JVM peer's inbox
 * to have room: whoever ends that wait runs the drain). A sender that has just queued or published
 * a frame calls {@link #request()}: only the one that moves the flag from 0 to 1 submits the task,
 * so a burst of sends costs one task, and a sender that finds the flag set does nothing. After each
 * pass the event loop calls {@link #passDone}: a pass that moved bytes queues the next pass itself
 * (the flag stays 1, so senders never have to wake the loop); a pass that moved nothing clears the
 * flag and then looks once more at {@link Drain#pendingWork()}, so that a frame published just as
 * the flag was cleared is not left behind: either the sender saw 0 and submitted the task, or the
 * loop's second look sees the frame (or a producer inside its write) and moves the flag back to 1
 * itself. The compare-and-set on that flag makes these two one: never two tasks, never none.
 *
 * <p>On a busy-polling loop, a request made on the loop itself (an event-loop handler answering)
 * runs the pass at once, inside the request, rather than queueing it behind the rest of the loop's
 * round: latency is what that mode is for (64 B/1 KiB ping-pong p50 about 7 % and 12 % lower). A
 * request made from within such a pass (a failed frame's callback sending again) queues its pass.
 *
 * <p>A pass that leaves writes in the channel (the socket did not take them all, or, io_uring,
 * they are still in the ring) parks the drain until the last of them completes
 * ({@link #awaitSocket}, {@link #socketTookWrites}). Writing a slice per pass while the socket is
 * full would only queue thousands of small writes in the channel, each an entry, a slice and a
 * completion to recycle; waiting makes the next slice carry everything published meanwhile, and
 * keeps what the socket has not taken in the segments and the queue, counted by the watermarks.
 *
 * <p>{@link #request()} and {@link #isAwaitingSocket()}: any thread. Everything else: the event loop only.
 */
final class DrainScheduler {
    /** Passes in a row that find only a producer inside a write before the drain backs off. */
    static final int MAX_WRITING_PASSES = 64;
    static final long WRITING_BACKOFF_MICROS = 50;

    /** What the scheduler runs: one drain pass, and a look at what is left for the next. */
    interface Drain extends Runnable {
        /** {@link SegmentWriter#NO_WORK}, {@link SegmentWriter#DATA} or {@link SegmentWriter#PRODUCER_WRITING}. */
        int pendingWork();
    }

    private static final AtomicIntegerFieldUpdater<DrainScheduler> SCHEDULED =
            AtomicIntegerFieldUpdater.newUpdater(DrainScheduler.class, "scheduled");

    private final ScheduledExecutorService loop;
    private final Drain drain;
    /** The loop, if a request made on it runs the pass at once (a busy-polling loop: latency first); else null. */
    private final EventExecutor runsOnRequest;
    /** Event loop only: a pass runs inside a request, so a request made from within it queues a task instead. */
    private boolean inRequest;
    /** 1 while a drain task is pending or running, or the drain is parked; see the class comment. */
    private volatile int scheduled;
    // Event loop only.
    /** The task this loop queues for itself, and whether it is still queued. */
    private final Runnable drainTask;
    private boolean drainTaskPending;
    /** Parked until the channel's writes complete; written on the event loop, volatile for {@link #isAwaitingSocket()}. */
    private volatile boolean awaitingSocket;
    private int writingPasses;

    /**
     * @param runsOnRequest whether a request made on the event loop itself (an event-loop handler
     *     answering) runs the pass at once, instead of queueing it behind the rest of the loop's
     *     current round: for busy-polling loops, where the answer's latency is the point
     */
    DrainScheduler(ScheduledExecutorService loop, Drain drain, boolean runsOnRequest) {
        this.loop = loop;
        this.drain = drain;
        this.runsOnRequest = runsOnRequest && loop instanceof EventExecutor ? (EventExecutor) loop : null;
        this.drainTask = () -> {
            drainTaskPending = false;
            drain.run();
        };
    }

    /**
     * Makes sure a drain pass will run after what the caller just queued or published. Any thread.
     *
     * @return false if the event loop refused the task (it is shutting down): the caller fails what it queued
     */
    boolean request() {
        if (scheduled == 0 && SCHEDULED.compareAndSet(this, 0, 1)) {
            if (runsOnRequest != null && runsOnRequest.inEventLoop() && !inRequest) {
                inRequest = true; // a send from a callback of this pass (a failed frame's future) queues its pass
                try {
                    drain.run();
                } finally {
                    inRequest = false;
                }
                return true;
            }
            try {
                loop.execute(drain);
            } catch (RejectedExecutionException e) {
                return false;
            }
        }
        return true;
    }

    /** The drain waits for an event (hello answer, writability, peer room) whose handler runs it: senders need not. */
    void park() {
        scheduled = 1;
    }

    /** Ends a pass that left writes in the channel: the drain waits for {@link #socketTookWrites()}. */
    void awaitSocket() {
        scheduled = 1;
        awaitingSocket = true;
    }

    /**
     * The channel holds no write of ours any more: a drain that waited for it runs a pass in a later
     * task (never inside the caller's stack, a write completion inside a flush). Event loop, or the
     * thread that fails what is left after the loop terminated (then nothing runs).
     */
    void socketTookWrites() {
        if (!awaitingSocket) {
            return;
        }
        awaitingSocket = false;
        try {
            resubmit();
        } catch (RejectedExecutionException e) {
            drainTaskPending = false; // the loop is gone; whoever terminated it fails what is left
        }
    }

    /**
     * Whether the drain waits for the socket to take the writes already handed to it (it is full, or
     * the writes are still in the io_uring ring) before it writes more. Any thread; a snapshot.
     */
    boolean isAwaitingSocket() {
        return awaitingSocket;
    }

    /** The connection failed: nothing will be drained again, and a sender's request only makes a pass that fails its frame. */
    void stop() {
        scheduled = 0;
    }

    /**
     * Ends a pass. Event loop only.
     *
     * @param progressed whether the pass moved any bytes
     */
    void passDone(boolean progressed) {
        if (awaitingSocket) {
            awaitingSocket = false; // a pass run by another event (writability) found the socket took everything
        }
        if (progressed) {
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
        int work = drain.pendingWork();
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
    }

    private void resubmit() {
        if (!drainTaskPending) {
            drainTaskPending = true;
            loop.execute(drainTask);
        }
    }
}
