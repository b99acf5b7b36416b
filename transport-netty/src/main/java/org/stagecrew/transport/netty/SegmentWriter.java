package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.ArrayList;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.TransportException;

/**
 * The consuming side of the {@link Segment}s of one {@link OutboundConnection}: the segments its
 * drain took from the queue, written to the channel behind their producers as retained slices,
 * sealed once idle for a whole pass, and, once sealed and written, recycled into the connection's
 * {@link SegmentPool} if its producer has moved off it, else released. Event loop only (or, after
 * the event loop has terminated, the one thread that fails what is left).
 */
final class SegmentWriter {
    /** {@link #pendingWork()}: nothing published and unwritten, no producer inside a write. */
    static final int NO_WORK = 0;
    /** {@link #pendingWork()}: published bytes are waiting to be written. */
    static final int DATA = 1;
    /** {@link #pendingWork()}: nothing to write, but a producer is inside a write and will publish. */
    static final int PRODUCER_WRITING = 2;
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;
    /** The longest pause between tries to discard a segment whose producer was inside a write. */
    private static final long STUCK_RETRY_MAX_MILLIS = 100;
    private static final long STUCK_GIVE_UP_SECONDS = 30;
    private static final Logger LOG = LoggerFactory.getLogger(SegmentWriter.class);

    private final OutboundConnection connection;
    private final WriteBudget budget;
    private final WriteCompletions completions;
    private final SegmentPool pool;
    private final ArrayList<Segment> segments = new ArrayList<>();
    /**
     * Segments of a failed connection whose producer was inside a write when they were discarded.
     * Retried from a thread other than the event loop (which may have terminated): taking one out
     * of the queue makes the taker its only owner for that try.
     */
    private final Queue<Segment> stuck = new ConcurrentLinkedQueue<>();
    /** Whether a retry of {@link #discardStuck()} is scheduled. */
    private final AtomicBoolean stuckRetryPending = new AtomicBoolean();
    /** Bytes handed to the channel so far. */
    private long written;

    SegmentWriter(OutboundConnection connection, WriteBudget budget, WriteCompletions completions, SegmentPool pool) {
        this.connection = connection;
        this.budget = budget;
        this.completions = completions;
        this.pool = pool;
    }

    void add(Segment segment) {
        segments.add(segment);
    }

    boolean isEmpty() {
        return segments.isEmpty();
    }

    /** Bytes handed to the channel so far; a drain pass that changes it has made progress. */
    long written() {
        return written;
    }

    /**
     * Writes every published byte of every segment, in the order the segments were added (a
     * thread's sealed segment before its next); seals the segments that gained nothing since the
     * last pass unless their producer is writing, and drops the sealed ones once written. A dropped
     * segment's capacity counts against the watermark until the last write of its slices completes,
     * since each slice keeps the whole chunk alive; then it is recycled or released.
     *
     * @param longestFrame the longest payload the peer takes; longer frames are skipped and reported
     * @return the bytes handed to the channel
     */
    long writeAll(Channel ch, long longestFrame) {
        long before = written;
        for (int i = 0; i < segments.size(); ) {
            Segment segment = segments.get(i);
            long state = segment.state();
            int published = Segment.position(state);
            boolean sealed = (state & Segment.SEALED) != 0;
            if (published > segment.consumed) {
                write(ch, segment, published, Segment.frames(state), longestFrame);
            } else if (!sealed && (state & Segment.WRITING) == 0) {
                sealed = segment.trySeal(state); // idle for a whole pass
            }
            if (sealed) {
                // Sealed at "published", which is written: nobody writes to the chunk again unless it is recycled.
                segments.remove(i);
                segment.recyclable = true;
                retire(segment);
            } else {
                i++;
            }
        }
        return written - before;
    }

    /** The drainer is done with a segment: its capacity stops counting once its slices are written too. */
    private void retire(Segment segment) {
        segment.retired = true;
        if (segment.writesInFlight == 0) {
            written(segment);
        }
    }

    /** The write of one slice of {@code segment} completed (or failed). */
    void sliceWritten(Segment segment) {
        if (--segment.writesInFlight == 0 && segment.retired) {
            written(segment);
        }
    }

    /**
     * A retired segment's last slice write completed: its capacity stops counting, and the drainer is
     * done with it. If its producer had retired it, the segment goes back to the pool (which releases
     * its chunk if it cannot take it); else it is parked for the producer, which finds it sealed on its
     * next frame and recycles it then. A segment discarded by a failure had its chunk released then.
     */
    private void written(Segment segment) {
        budget.release(segment.capacity);
        if (!segment.recyclable) {
            return;
        }
        if (segment.drainerDone()) {
            pool.recycle(segment);
        } else {
            pool.park(segment);
        }
    }

    /** What is left to write: {@link #NO_WORK}, {@link #DATA}, or only {@link #PRODUCER_WRITING}. */
    int pendingWork() {
        int work = NO_WORK;
        for (int i = 0; i < segments.size(); i++) {
            Segment segment = segments.get(i);
            long state = segment.state();
            if (Segment.position(state) > segment.consumed) {
                return DATA;
            }
            if ((state & Segment.WRITING) != 0) {
                work = PRODUCER_WRITING;
            }
        }
        return work;
    }

    /**
     * Seals and releases every segment, and closes the pool (segments recycled later are released);
     * returns the frames they held that were not written.
     */
    int discardAll() {
        pool.close();
        int frames = 0;
        for (Segment segment : segments) {
            frames += discard(segment);
        }
        segments.clear();
        return frames;
    }

    /**
     * Seals a segment whatever its producer does, releases it and its watermark budget, and returns
     * how many frames it held that were not written. A segment whose producer stays inside a write
     * is kept aside for {@link #discardStuck()} and counts 0 frames here.
     */
    int discard(Segment segment) {
        long end = segment.sealNow();
        if (end == Segment.BUSY) {
            stuck.add(segment);
            return 0;
        }
        return finish(segment, end);
    }

    /**
     * Tries again, once each, to discard the segments {@link #discard} kept aside; returns the
     * unwritten frames of those it discarded. Any thread, one at a time.
     */
    int discardStuck() {
        int frames = 0;
        for (int n = stuck.size(); n > 0; n--) {
            Segment segment = stuck.poll();
            if (segment == null) {
                break;
            }
            long end = segment.sealNow();
            if (end == Segment.BUSY) {
                stuck.add(segment);
            } else {
                frames += finish(segment, end);
            }
        }
        return frames;
    }

    boolean hasStuck() {
        return !stuck.isEmpty();
    }

    /**
     * Discards, a little later, the segments whose producers were inside a write when the
     * connection failed: the event loop never waits for a producer, which may be descheduled, or
     * stopped for good. The retries run on Netty's global executor, since the transport may be
     * closing and its event loop terminating; they back off to {@value #STUCK_RETRY_MAX_MILLIS} ms
     * and end after {@value #STUCK_GIVE_UP_SECONDS} s. Frames are reported once their segment seals.
     */
    void retryStuckLater(TransportException cause) {
        if (stuckRetryPending.compareAndSet(false, true)) {
            retryStuck(cause, 1, System.nanoTime() + TimeUnit.SECONDS.toNanos(STUCK_GIVE_UP_SECONDS));
        }
    }

    private void retryStuck(TransportException cause, long delayMillis, long giveUpAt) {
        GlobalEventExecutor.INSTANCE.schedule(() -> {
            connection.report(this::discardStuck, cause);
            if (!hasStuck()) {
                stuckRetryPending.set(false);
                if (hasStuck()) {
                    retryStuckLater(cause); // kept aside just now, after our look
                }
            } else if (System.nanoTime() - giveUpAt > 0) {
                // Releasing memory that a thread may still write into would be worse than leaving it to the collector.
                LOG.warn("a thread sending to {} has stayed inside a write for {} s since the connection failed; {} segment(s)"
                        + " are left unreleased and their frames unreported", Failures.describe(connection.destination()), STUCK_GIVE_UP_SECONDS,
                        stuck.size());
            } else {
                retryStuck(cause, Math.min(2 * delayMillis, STUCK_RETRY_MAX_MILLIS), giveUpAt);
            }
        }, delayMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Releases a sealed segment. From {@link #discardStuck()} on another thread, its count of slices
     * in flight may race with the event loop's completions: the connection has failed, so the
     * watermark count it affects no longer matters.
     */
    private int finish(Segment segment, long end) {
        int frames = Segment.frames(end) - segment.consumedFrames;
        segment.consumed = Segment.position(end);
        segment.consumedFrames = Segment.frames(end);
        segment.chunk.release();
        retire(segment);
        return frames;
    }

    /** Writes the segment's frames from its consumed offset to {@code published}. */
    private void write(Channel ch, Segment segment, int published, int publishedFrames, long longestFrame) {
        ByteBuf chunk = segment.chunk;
        int from = segment.consumed;
        if (longestFrame < connection.appendLimit()) {
            // A listener that takes less than the longest appended frame: look at each frame, skip those it refuses.
            int frames = 0;
            for (int at = from; at < published; ) {
                int length = chunk.getInt(at);
                if (length > longestFrame) {
                    writeSlice(ch, segment, chunk, from, at, frames);
                    connection.reportUndeliverable(1, connection.tooLarge(length)); // the connection stays up
                    at += HEADER + length;
                    from = at;
                    frames = 0;
                } else {
                    frames++;
                    at += HEADER + length;
                }
            }
            writeSlice(ch, segment, chunk, from, published, frames);
        } else {
            writeSlice(ch, segment, chunk, from, published, publishedFrames - segment.consumedFrames);
        }
        segment.consumed = published;
        segment.consumedFrames = publishedFrames;
    }

    private void writeSlice(Channel ch, Segment segment, ByteBuf chunk, int from, int to, int frames) {
        if (to > from) {
            completions.take(segment).unreported(frames).write(ch, chunk.retainedSlice(from, to - from));
            written += to - from;
        }
    }
}
