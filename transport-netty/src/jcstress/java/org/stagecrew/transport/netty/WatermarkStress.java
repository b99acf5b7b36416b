package org.stagecrew.transport.netty;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JZ_Result;

/**
 * The watermarks under a race: a sender reserves room ({@link WriteBudget#reserve}) while the event
 * loop releases what it drained ({@link WriteBudget#release}). Low 50, high 100; 101 bytes held and
 * back-pressured before; the sender adds 150, the loop takes 101. Whatever the order, 150 bytes are
 * held at the end, above the high mark, so the budget must be back-pressured: a budget that is not
 * lets senders past the high watermark.
 *
 * <p>Result: r1 bytes held; r2 back-pressured.
 */
@JCStressTest
@Description("WriteBudget: reserve above the high mark against release to the low mark")
@Outcome(id = "150, true", expect = Expect.ACCEPTABLE, desc = "above the high mark, back-pressured")
@Outcome(id = "150, false", expect = Expect.FORBIDDEN, desc = "above the high mark but not back-pressured: the release cleared"
        + " the flag after the reserve had seen it set")
@Outcome(expect = Expect.FORBIDDEN, desc = "not part of the protocol")
@State
public class WatermarkStress {
    private final WriteBudget budget = new WriteBudget(null, 50, 100, new ConnectionState(null), () -> true);

    public WatermarkStress() {
        budget.reserve(101);
    }

    @Actor
    public void sender() {
        budget.reserve(150);
    }

    @Actor
    public void eventLoop() {
        budget.release(101);
    }

    @Arbiter
    public void arbiter(JZ_Result r) {
        r.r1 = budget.queuedBytes();
        r.r2 = budget.isBackPressured();
    }
}
