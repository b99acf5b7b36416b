package org.stagecrew.transport.netty;

import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Mode;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Signal;
import org.openjdk.jcstress.annotations.State;

/**
 * A blocking sender parks in {@link WriteBudget#awaitRoom} on a back-pressured connection while the
 * event loop drains it below the low watermark ({@link WriteBudget#release}). The sender must wake:
 * its check, its park and the loop's release and signal may interleave in any way, and it waits for
 * an hour, so a lost wake-up shows as STALE.
 */
@JCStressTest(Mode.Termination)
@Description("WriteBudget: a blocked sender against the release that makes room")
@Outcome(id = "TERMINATED", expect = Expect.ACCEPTABLE, desc = "the sender woke once there was room")
@Outcome(id = "STALE", expect = Expect.FORBIDDEN, desc = "lost wake-up: the sender sleeps on with room to send")
@State
public class BlockingSendWakeUpStress {
    private final WriteBudget budget = new WriteBudget(null, 50, 100, new ConnectionState(null), () -> true);

    public BlockingSendWakeUpStress() {
        budget.reserve(150); // above the high watermark: back-pressured
    }

    @Actor
    public void sender() {
        budget.awaitRoom(TimeUnit.HOURS.toNanos(1));
    }

    @Signal
    public void eventLoop() {
        budget.release(150);
    }
}
