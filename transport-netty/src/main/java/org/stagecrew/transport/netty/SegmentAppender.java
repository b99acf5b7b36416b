package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * The producing side of the {@link Segment}s of one {@link OutboundConnection}: copies a small
 * frame into the calling thread's current segment (one CAS to claim it, one ordered store to
 * publish it), starts a new segment when that one is full or was sealed by the event loop, and
 * sizes each new segment by how much of the last one was used. A new segment is taken from the
 * connection's {@link SegmentPool} when one of that size is idle there, so a steady stream allocates
 * nothing; else a pooled direct buffer is allocated.
 *
 * <p>Any thread; each thread only ever touches its own segment ({@link Appenders}).
 */
final class SegmentAppender {
    /** The first segment of a thread; later ones grow with use up to the connection's segment limit. */
    static final int MIN_SEGMENT_SIZE = 8 * 1024;
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;

    private final OutboundConnection connection;
    private final WriteBudget budget;
    private final ChunkPacker packer;
    private final SegmentPool pool;
    /** The largest segment: a fraction of the high watermark, so that a few segments never exceed it. */
    private final int segmentLimit;
    /**
     * The longest payload that takes the segment path: half a segment of the largest size, so that
     * such a segment holds at least two. Above the owned send's zero-copy threshold too: a copy has
     * to be made anyway, and one into a recycled segment allocates nothing, where a pooled copy of
     * its own costs a buffer object per frame that the sending thread's recycler rarely gets back.
     */
    private final int appendLimit;

    SegmentAppender(OutboundConnection connection, WriteBudget budget, ChunkPacker packer, SegmentPool pool, int segmentLimit) {
        this.connection = connection;
        this.budget = budget;
        this.packer = packer;
        this.pool = pool;
        this.segmentLimit = segmentLimit;
        this.appendLimit = segmentLimit / 2 - HEADER;
    }

    /** The largest segment for a connection with this high watermark: a fraction of it, so that a few segments never exceed it. */
    static int segmentLimit(int highWaterMark) {
        return Math.min(ChunkPacker.CHUNK_SIZE, Math.max(MIN_SEGMENT_SIZE, Integer.highestOneBit(highWaterMark / 8)));
    }

    /** The longest payload that {@link #append} takes. */
    int appendLimit() {
        return appendLimit;
    }

    /**
     * Appends a copy of a small frame ({@code length <= appendLimit()}) to the calling thread's
     * segment, and asks for a drain. Returns false, copying nothing, when a new segment is needed
     * while the budget is back-pressured. Allocates nothing while the thread's segment has room, nor
     * when it takes an idle segment from the pool.
     */
    boolean append(ByteBuf source, int index, int length) {
        Appenders.Appender appender = Appenders.of(connection);
        int bytes = HEADER + length;
        Segment segment = appender.segment;
        if (segment != null) {
            if (segment.fits(bytes) && segment.claim()) {
                write(segment, source, index, length);
                connection.schedule();
                return true;
            }
            retire(appender, segment); // full, or sealed by the event loop once it caught up
        }
        if (budget.isBackPressured()) {
            return false;
        }
        int capacity = Math.max(appender.nextCapacity, Math.max(MIN_SEGMENT_SIZE, bytes));
        segment = pool.take(capacity, bytes);
        if (segment == null) {
            segment = new Segment(PooledByteBufAllocator.DEFAULT.directBuffer(capacity, capacity));
        }
        try {
            write(segment, source, index, length); // nobody else sees it yet: no claim needed
        } catch (RuntimeException e) {
            segment.chunk.release();
            throw e;
        }
        appender.segment = segment;
        budget.reserve(segment.capacity);
        packer.offer(segment);
        connection.schedule();
        return true;
    }

    /** Seals the calling thread's segment, if it has one, so that what it queues next goes behind it. */
    void sealCurrent() {
        Appenders.Appender appender = Appenders.existing(connection);
        if (appender != null && appender.segment != null) {
            retire(appender, appender.segment);
        }
    }

    private static void write(Segment segment, ByteBuf source, int index, int length) {
        int at = segment.position();
        ByteBuf chunk = segment.chunk;
        boolean written = false;
        try {
            chunk.setInt(at, length);
            chunk.setBytes(at + HEADER, source, index, length);
            written = true;
        } finally {
            if (written) {
                segment.publish(at + HEADER + length);
            } else {
                segment.abort(); // e.g. a released source: leave the segment as it was, unclaimed
            }
        }
    }

    /**
     * Ends the thread's use of a segment, and sizes its next one by how much of this one it used. The
     * seal comes last: from then on the event loop may recycle the segment for another thread.
     */
    private void retire(Appenders.Appender appender, Segment segment) {
        appender.segment = null;
        int used = Math.max(segment.position(), MIN_SEGMENT_SIZE / 2);
        appender.nextCapacity = Math.min(segmentLimit, Integer.highestOneBit(used - 1) << 2);
        if (segment.retireByProducer()) {
            pool.recycle(segment); // the event loop was done with it first and parked it for us
        }
    }
}
