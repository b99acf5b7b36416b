package org.stagecrew.transport.netty;

import io.netty.util.internal.PlatformDependent;
import java.util.ArrayList;
import java.util.Queue;

/**
 * The idle {@link Segment}s of one {@link OutboundConnection}, chunk included, that a sending thread
 * takes instead of allocating a new one: so that a thread streaming small frames allocates nothing
 * when it moves on to its next segment (a sending thread is not a Netty thread, so Netty's own
 * recycling of pooled buffers does not reach it).
 *
 * <p>A segment comes back once both its producer and the drainer are done with it (see {@link
 * Segment}, "Recycling"), from whichever side was done second; as many wait here as the
 * connection may have in flight ({@link #idlePlaces}: its high watermark in segments of its
 * largest size, 2 to {@value #MAX_IDLE}, plus two), so an idle connection holds no more than a
 * busy one, and a segment beyond that or that arrives after {@link #close()} has its chunk
 * released instead. A stream keeps many segments in flight (up to the watermark) and gets them
 * back in bursts: fewer idle places would release in one burst what it allocates again in the
 * next. A segment the drainer finished while its producer still held it is parked here until the
 * producer retires it; at most {@value #MAX_PARKED} are, the oldest taken back and released beyond
 * that. So a connection holds at most its high watermark and two segments in idle ones, and
 * {@value #MAX_PARKED} parked segments of up to its segment limit, until it closes (each thread
 * parks at most one).
 *
 * <p>Threading: {@link #take} and {@link #recycle} from any thread that owns the segment; {@link
 * #park} from the event loop; {@link #close} from the event loop, or the one thread that fails a
 * connection after its event loop ended. The idle queue is a bounded lock-free MPMC array queue:
 * offering and polling allocate nothing. A segment polled from it belongs to the caller alone.
 * Buffer ownership: an idle segment's chunk holds exactly one reference, the pool's; taking the
 * segment takes that reference.
 */
final class SegmentPool {
    static final int MAX_IDLE = 16;
    static final int MAX_PARKED = 16;

    private final Queue<Segment> idle;
    /** How many may be idle: {@link #idlePlaces}; the queue's capacity is a power of two at least that. */
    private final int places;
    /**
     * Event loop only: segments parked for their producer, oldest first. An entry whose segment is no
     * longer parked (retired and recycled since) is stale and dropped at the next {@link #park}.
     */
    private final ArrayList<Segment> parked = new ArrayList<>();
    private volatile boolean closed;

    /**
     * @param highWaterMark the connection's write-buffer high watermark
     * @param segmentLimit the largest segment its threads start
     */
    SegmentPool(int highWaterMark, int segmentLimit) {
        this.places = idlePlaces(highWaterMark, segmentLimit);
        this.idle = PlatformDependent.newFixedMpmcQueue(places);
    }

    /**
     * How many idle segments a connection keeps: as many as it may have in flight, its high watermark
     * in segments of the largest size (2 to {@value #MAX_IDLE}) plus two: the budget admits a segment
     * while below the watermark, and the producer holds its current one. With one place fewer, a
     * stream of 64 KiB frames got a new segment about every 30 frames (JFR): the segments coming back
     * in one burst overflowed the pool, and the next burst allocated them again.
     */
    static int idlePlaces(int highWaterMark, int segmentLimit) {
        return Math.max(2, Math.min(MAX_IDLE, Integer.highestOneBit(highWaterMark / segmentLimit))) + 2;
    }

    /**
     * An idle segment, empty and open, for the calling thread to fill: one that holds at least {@code
     * bytes} and at least a quarter of the {@code capacity} the thread would allocate (its segment
     * size goes up and down with its use, and a segment a little off that size serves as well); or
     * null if none is idle. An idle segment that does not fit has its chunk released, so the caller
     * allocates one of the right size. Any thread.
     */
    Segment take(int capacity, int bytes) {
        Segment segment = idle.poll();
        if (segment != null && (segment.capacity < bytes || segment.capacity < capacity / 4)) {
            segment.chunk.release();
            return null;
        }
        return segment;
    }

    /**
     * Takes back a segment that the caller owns (both sides are done with it: see {@link Segment},
     * "Recycling"), resetting it for the next producer; or releases its chunk if another holder still
     * has a reference to it (an in-JVM receiver still reading a slice), the pool is full or closed.
     * Returns whether the segment was pooled. Any thread.
     */
    boolean recycle(Segment segment) {
        if (closed || segment.chunk.refCnt() != 1) {
            // refCnt 1: ours alone. Only a holder can add references, so a count read as 1 stays 1.
            segment.chunk.release();
            return false;
        }
        segment.resetForReuse();
        if (idle.size() >= places || !idle.offer(segment)) { // the size may be a little stale: a bound within the racing recyclers
            segment.chunk.release();
            return false;
        }
        if (closed) {
            releaseAll(); // closed while we offered: whoever polls a segment releases it, once
        }
        return true;
    }

    /**
     * Keeps a segment that the drainer is done with while its producer still holds it ({@link
     * Segment#drainerDone()} returned false), for the producer to recycle when it retires it. Beyond
     * {@value #MAX_PARKED} parked, the oldest is taken back and released; after {@link #close()}, the
     * segment itself. Event loop.
     */
    void park(Segment segment) {
        if (closed) {
            if (segment.reclaimParked()) {
                segment.chunk.release();
            }
            return;
        }
        for (int i = parked.size() - 1; i >= 0; i--) {
            if (!parked.get(i).isParked()) {
                parked.remove(i); // retired by its producer since: stale
            }
        }
        if (parked.size() >= MAX_PARKED) {
            Segment oldest = parked.remove(0);
            if (oldest.reclaimParked()) {
                oldest.chunk.release();
            }
        }
        parked.add(segment);
    }

    /**
     * Releases the chunks of the idle segments and takes back and releases the parked ones; segments
     * recycled or parked later are released at once. Event loop (or the one thread that fails a
     * connection after its event loop ended).
     */
    void close() {
        closed = true;
        for (Segment segment : parked) {
            if (segment.reclaimParked()) {
                segment.chunk.release();
            }
        }
        parked.clear();
        releaseAll();
    }

    /** How many segments are idle here; for tests. */
    int idleCount() {
        return idle.size();
    }

    private void releaseAll() {
        Segment segment;
        while ((segment = idle.poll()) != null) {
            segment.chunk.release();
        }
    }
}
