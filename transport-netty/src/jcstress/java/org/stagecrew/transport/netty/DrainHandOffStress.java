package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The MPSC hand-off to the event loop: a producer publishes a frame in its segment and asks for a
 * drain ({@link DrainScheduler#request()}) while the event loop ends a pass that found nothing
 * ({@link DrainScheduler#passDone passDone(false)}: clear the flag, look again). Exactly one drain
 * task must follow: none would leave the frame unwritten (a lost wake-up), two would run the
 * drain twice for one frame (a double schedule).
 *
 * <p>Result: r1 drain tasks submitted; r2 the work the event loop would find in that task.
 */
@JCStressTest
@Description("DrainScheduler: producer request against the event loop going idle")
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "one drain task, and it finds the frame")
@Outcome(id = "0, .*", expect = Expect.FORBIDDEN, desc = "lost wake-up: a published frame and no drain task")
@Outcome(id = "2, .*", expect = Expect.FORBIDDEN, desc = "double schedule: two drain tasks for one frame")
@Outcome(expect = Expect.FORBIDDEN, desc = "not part of the protocol")
@State
public class DrainHandOffStress {
    private final CountingLoop loop = new CountingLoop();
    private final Segment segment = new Segment(Unpooled.wrappedBuffer(new byte[64]));
    private final SegmentWriter writer = new SegmentWriter(null, null, null, null);
    private final DrainScheduler scheduler;

    public DrainHandOffStress() {
        writer.add(segment);
        scheduler = new DrainScheduler(loop, new DrainScheduler.Drain() {
            @Override
            public void run() {
            }

            @Override
            public int pendingWork() {
                return writer.pendingWork();
            }
        }, false);
        scheduler.park(); // a drain pass is running: its flag is set
    }

    @Actor
    public void producer() {
        if (segment.claim()) {
            segment.chunk.setInt(0, 4);
            segment.chunk.setInt(4, 42);
            segment.publish(8);
        }
        scheduler.request();
    }

    @Actor
    public void eventLoop() {
        scheduler.passDone(false); // the pass moved nothing: it found no frame yet
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r1 = loop.submitted();
        r.r2 = writer.pendingWork();
    }
}
