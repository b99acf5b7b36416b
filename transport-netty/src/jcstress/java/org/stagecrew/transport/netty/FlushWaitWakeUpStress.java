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
 * {@code flush}: a thread parks in {@link WriteBudget#awaitFlushed} while one write is in the
 * channel, and the event loop completes it ({@link WriteBudget#writeFinished}). The waiter must wake.
 */
@JCStressTest(Mode.Termination)
@Description("WriteBudget: a flush waiter against the last write completing")
@Outcome(id = "TERMINATED", expect = Expect.ACCEPTABLE, desc = "the waiter woke once everything was written")
@Outcome(id = "STALE", expect = Expect.FORBIDDEN, desc = "lost wake-up: flush waits on with nothing left to write")
@State
public class FlushWaitWakeUpStress {
    private final WriteBudget budget = new WriteBudget(null, 50, 100, new ConnectionState(null), () -> true);

    public FlushWaitWakeUpStress() {
        budget.writeStarted();
    }

    @Actor
    public void flusher() {
        budget.awaitFlushed(System.nanoTime() + TimeUnit.HOURS.toNanos(1));
    }

    @Signal
    public void eventLoop() {
        budget.writeFinished();
    }
}
