package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.ArrayList;

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
     * last pass unless their producer is writing, and releases the sealed ones once written.
     *
     * @param longestFrame the longest payload the peer takes; longer frames are skipped and reported
     * @return the capacity of the segments released, which stops counting against the watermark
     */
    long writeAll(Channel ch, long longestFrame) {
        long finished = 0;
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
                finished += segment.capacity;
            } else {
                i++;
            }
        }
        return finished;
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
     * Seals a segment whatever its producer does (waiting out a write in progress), releases it and
     * its watermark budget, and returns how many frames it held that were not written.
     */
    int discard(Segment segment) {
        long end = segment.sealNow();
        int frames = Segment.frames(end) - segment.consumedFrames;
        segment.consumed = Segment.position(end);
        segment.consumedFrames = Segment.frames(end);
        segment.chunk.release();
        connection.released(segment.capacity);
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
                    writeSlice(ch, chunk, from, at, frames);
                    connection.reportTooLarge(length);
                    at += HEADER + length;
                    from = at;
                    frames = 0;
                } else {
                    frames++;
                    at += HEADER + length;
                }
            }
            writeSlice(ch, chunk, from, published, frames);
        } else {
            writeSlice(ch, chunk, from, published, publishedFrames - segment.consumedFrames);
        }
        segment.consumed = published;
        segment.consumedFrames = publishedFrames;
    }

    private void writeSlice(Channel ch, ByteBuf chunk, int from, int to, int frames) {
        if (to > from) {
            ch.write(chunk.retainedSlice(from, to - from), new OutboundConnection.WriteCompletion(connection).unreported(frames).promise(ch));
            written += to - from;
        }
    }
}
