package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * The event loop recycles a written segment into its connection's {@link SegmentPool} while the
 * connection fails and closes the pool. Whatever the order, the segment's chunk must be released
 * exactly once (a second release would throw and error the test) and no segment may stay idle in a
 * closed pool (its chunk would leak).
 *
 * <p>Result: r1 {@link SegmentPool#recycle} pooled the segment (1) or released it at once (0); r2 the
 * chunk's final reference count; r3 segments left idle in the pool.
 */
@JCStressTest
@Description("SegmentPool: recycle against close")
@Outcome(id = "1, 0, 0", expect = Expect.ACCEPTABLE, desc = "pooled, then released by the close (or by recycle, seeing the close after its offer)")
@Outcome(id = "0, 0, 0", expect = Expect.ACCEPTABLE, desc = "the pool was closed first: released at once")
@Outcome(id = "., 1, .*", expect = Expect.FORBIDDEN, desc = "the chunk was never released: left in a closed pool (a leak)")
@Outcome(expect = Expect.FORBIDDEN, desc = "any other interleaving is not part of the protocol")
@State
public class SegmentPoolCloseStress {
    private final SegmentPool pool = new SegmentPool(4 * 1024 * 1024, 256 * 1024);
    private final Segment segment = new Segment(Unpooled.buffer(16, 16));

    @Actor
    public void eventLoop(III_Result r) {
        r.r1 = pool.recycle(segment) ? 1 : 0;
    }

    @Actor
    public void closer() {
        pool.close();
    }

    @Arbiter
    public void arbiter(III_Result r) {
        r.r2 = segment.chunk.refCnt();
        r.r3 = pool.idleCount();
    }
}
