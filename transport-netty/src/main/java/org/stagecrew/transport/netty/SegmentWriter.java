package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The consuming side of the {@link Segment}s of one {@link OutboundConnection}: the segments its
 * drain took from the queue, written to the channel behind their producers as retained slices,
 * sealed once idle for a whole pass, and released once sealed and written. Event loop only (or,
 * after the event loop has terminated, the one thread that fails what is left).
 */
final class SegmentWriter {
    /** {@link #pendingWork()}: nothing published and unwritten, no producer inside a write. */
    static final int NO_WORK = 0;
    /** {@link #pendingWork()}: published bytes are waiting to be written. */
    static final int DATA = 1;
    /** {@link #pendingWork()}: nothing to write, but a producer is inside a write and will publish. */
    static final int PRODUCER_WRITING = 2;
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;

    private final OutboundConnection connection;
    private final ArrayList<Segment> segments = new ArrayList<>();
    /**
     * Segments of a failed connection whose producer was inside a write when they were discarded.
     * Retried from a thread other than the event loop (which may have terminated): taking one out
     * of the queue makes the taker its only owner for that try.
     */
    private final Queue<Segment> stuck = new ConcurrentLinkedQueue<>();
    /** Bytes handed to the channel so far. */
    private long written;

    SegmentWriter(OutboundConnection connection) {
        this.connection = connection;
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
     * since each slice keeps the whole chunk alive.
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
                // Sealed at "published", which is written: nobody touches the chunk again but its slices.
                segments.remove(i);
                segment.chunk.release();
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
            connection.released(segment.capacity);
        }
    }

    /** The write of one slice of {@code segment} completed (or failed). */
    void sliceWritten(Segment segment) {
        if (--segment.writesInFlight == 0 && segment.retired) {
            connection.released(segment.capacity);
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

    /** Seals and releases every segment; returns the frames they held that were not written. */
    int discardAll() {
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

    int stuckCount() {
        return stuck.size();
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
                    connection.reportTooLarge(length);
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
            new WriteCompletion(connection, segment).unreported(frames).write(ch, chunk.retainedSlice(from, to - from));
            written += to - from;
        }
    }
}
