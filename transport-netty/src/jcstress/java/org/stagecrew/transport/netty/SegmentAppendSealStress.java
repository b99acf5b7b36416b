package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIII_Result;

/**
 * A producer appends one frame to its {@link Segment} (claim, write, publish) while the event loop,
 * having caught up, tries to seal the segment at the position it observed. A seal must never fall
 * below a frame that the producer then publishes (the frame would be lost), and published bytes must
 * be visible to the drainer that sees the position.
 *
 * <p>Result: r1 producer published (1) or found the segment sealed (0); r2 position the drainer
 * observed; r3 drainer sealed (1) or not (0); r4 the payload the drainer read if it observed the
 * frame, else 0; r5 the final published position.
 */
@JCStressTest
@Description("Segment: producer claim/publish against the drainer's seal")
@Outcome(id = "1, 8, 1, 42, 8", expect = Expect.ACCEPTABLE, desc = "frame published, drainer saw it whole and sealed behind it")
@Outcome(id = "1, 8, 0, 42, 8", expect = Expect.ACCEPTABLE, desc = "drainer saw the whole frame; not sealed (cannot happen today: kept for a later seal rule)")
@Outcome(id = "1, 0, 0, 0, 8", expect = Expect.ACCEPTABLE, desc = "drainer looked before the publish (or saw the producer writing): no seal, the frame stands")
@Outcome(id = "0, 0, 1, 0, 0", expect = Expect.ACCEPTABLE, desc = "drainer sealed the empty segment first; the producer's claim failed and it wrote nothing")
@Outcome(id = "1, 0, 1, .*", expect = Expect.FORBIDDEN, desc = "sealed below a frame that was then published: the frame is lost")
@Outcome(id = "1, 8, ., 0, 8", expect = Expect.FORBIDDEN, desc = "the drainer saw the position but not the bytes below it")
@Outcome(expect = Expect.FORBIDDEN, desc = "any other interleaving is not part of the protocol")
@State
public class SegmentAppendSealStress {
    private final Segment segment = new Segment(Unpooled.wrappedBuffer(new byte[64]));

    @Actor
    public void producer(IIIII_Result r) {
        if (segment.fits(8) && segment.claim()) {
            segment.chunk.setInt(0, 4);
            segment.chunk.setInt(4, 42);
            segment.publish(8);
            r.r1 = 1;
        }
    }

    @Actor
    public void drainer(IIIII_Result r) {
        long state = segment.state();
        int position = Segment.position(state);
        r.r2 = position;
        if (position > 0) {
            r.r4 = segment.chunk.getInt(4);
        }
        // As SegmentWriter.writeAll: seal once caught up, unless the producer is inside a write.
        if ((state & (Segment.SEALED | Segment.WRITING)) == 0 && segment.trySeal(state)) {
            r.r3 = 1;
        }
    }

    @Arbiter
    public void arbiter(IIIII_Result r) {
        r.r5 = Segment.position(segment.state());
    }
}
