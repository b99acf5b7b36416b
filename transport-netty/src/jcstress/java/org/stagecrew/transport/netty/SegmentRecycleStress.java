package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * A producer appends one more frame to its {@link Segment} and then moves off it ({@link
 * Segment#retireByProducer()}), while the event loop, which already wrote the segment's first frame,
 * makes one pass over it as {@link SegmentWriter#writeAll} does (writes what is published, seals the
 * segment if it gained nothing) and, once it has dropped the sealed segment and no slice is in flight,
 * marks itself done ({@link Segment#drainerDone()}, as {@code SegmentWriter.written}). Exactly one
 * side, the one done second, must own the segment then (to recycle it, or to park it for the other):
 * never both (it would be reused twice), never neither (its chunk would leak); and the drainer must be
 * done only after every published frame was written (none is lost).
 *
 * <p>Result: r1 the producer appended its frame (1) or found the segment sealed (0); r2 bytes the
 * drainer has written out (8: the first frame only, 16: both); r3 the drainer kept the segment for a
 * later pass (0), was done first and parked it (1), or was done second and owns it (2); r4 the
 * producer's retire found the drainer done and owns it (1) or not (0).
 */
@JCStressTest
@Description("Segment: recycling needs both the producer's retire and the drainer's last write; the second owns it")
@Outcome(id = "1, 16, 2, 0", expect = Expect.ACCEPTABLE, desc = "producer appended and retired first; the drainer wrote its frame and owns the segment")
@Outcome(id = "0, 8, 1, 1", expect = Expect.ACCEPTABLE, desc = "the drainer sealed the idle segment and was done first (parked); the producer's claim failed, its retire owns it")
@Outcome(id = "0, 8, 2, 0", expect = Expect.ACCEPTABLE, desc = "the drainer sealed the idle segment; the producer's claim failed and it retired before the drainer was done, which owns it")
@Outcome(id = "1, 8, 0, 0", expect = Expect.ACCEPTABLE, desc = "the drainer looked before the publish (or saw the producer writing): kept for its next pass")
@Outcome(id = "1, 16, 0, 0", expect = Expect.ACCEPTABLE, desc = "the drainer wrote the new frame before the producer retired: kept for its next pass")
@Outcome(id = "1, 8, [12], .", expect = Expect.FORBIDDEN, desc = "sealed and done below a frame that was then published: the frame is lost")
@Outcome(id = "., ., 2, 1", expect = Expect.FORBIDDEN, desc = "both sides own the segment: it would be reused twice")
@Outcome(id = "., ., 1, 0", expect = Expect.FORBIDDEN, desc = "parked, and the producer's retire did not take it: nobody owns it, its chunk leaks")
@Outcome(expect = Expect.FORBIDDEN, desc = "any other interleaving is not part of the protocol")
@State
public class SegmentRecycleStress {
    private final Segment segment = new Segment(Unpooled.wrappedBuffer(new byte[64]));

    public SegmentRecycleStress() {
        // Before the race: the producer published one frame, and the drainer wrote it in an earlier pass.
        segment.claim();
        segment.chunk.setInt(0, 4);
        segment.chunk.setInt(4, 41);
        segment.publish(8);
        segment.consumed = 8;
        segment.consumedFrames = 1;
    }

    @Actor
    public void producer(IIII_Result r) {
        if (segment.fits(8) && segment.claim()) {
            segment.chunk.setInt(8, 4);
            segment.chunk.setInt(12, 42);
            segment.publish(16);
            r.r1 = 1;
        }
        r.r4 = segment.retireByProducer() ? 1 : 0; // as SegmentAppender.retire: its last touch
    }

    @Actor
    public void drainer(IIII_Result r) {
        // As SegmentWriter.writeAll, then (no slice in flight here) SegmentWriter.written.
        long state = segment.state();
        int published = Segment.position(state);
        boolean sealed = (state & Segment.SEALED) != 0;
        if (published > segment.consumed) {
            segment.consumed = published; // written
        } else if (!sealed && (state & Segment.WRITING) == 0) {
            sealed = segment.trySeal(state);
        }
        r.r2 = segment.consumed;
        if (!sealed) {
            r.r3 = 0;
        } else {
            r.r3 = segment.drainerDone() ? 2 : 1;
        }
    }
}
