package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * A parked {@link Segment} (the event loop sealed it under its idle producer and is done with it)
 * is retired by its producer's next frame while the event loop takes it back ({@link
 * Segment#reclaimParked()}: too many parked, or the connection failed). Exactly one of them must own
 * it: both would release or reuse the chunk twice, neither would leak it.
 *
 * <p>Result: r1 the producer's retire owns it (1) or not (0); r2 the event loop's reclaim owns it (1)
 * or not (0).
 */
@JCStressTest
@Description("Segment: a parked segment goes to its producer's retire or to the event loop's reclaim, never both")
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "the producer retired it first: it recycles the segment")
@Outcome(id = "0, 1", expect = Expect.ACCEPTABLE, desc = "the event loop took it back first: it releases the chunk; the retire leaves it alone")
@Outcome(id = "1, 1", expect = Expect.FORBIDDEN, desc = "both own it: the chunk would be released or reused twice")
@Outcome(id = "0, 0", expect = Expect.FORBIDDEN, desc = "neither owns it: the chunk leaks")
@State
public class SegmentParkedReclaimStress {
    private final Segment segment = new Segment(Unpooled.wrappedBuffer(new byte[64]));

    public SegmentParkedReclaimStress() {
        // Before the race: one frame published and written; the event loop sealed the idle segment and is done with it.
        segment.claim();
        segment.publish(8);
        segment.consumed = 8;
        segment.trySeal(segment.state());
        segment.drainerDone();
    }

    @Actor
    public void producer(II_Result r) {
        r.r1 = segment.retireByProducer() ? 1 : 0;
    }

    @Actor
    public void eventLoop(II_Result r) {
        r.r2 = segment.reclaimParked() ? 1 : 0;
    }
}
