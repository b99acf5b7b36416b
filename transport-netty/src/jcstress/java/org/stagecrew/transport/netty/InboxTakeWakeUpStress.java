package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.local.LocalChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * A consumer waits in {@link Inbox#take} (registers its thread, unlocks, parks) while an event loop
 * adds a batch ({@link Inbox#add}: unparks the oldest waiter). The consumer must get the batch: one
 * that sleeps on to its timeout while a batch waits in the inbox lost its wake-up. The timeout (1 s)
 * is far above any wake-up here, so reaching it means the wake-up was lost.
 *
 * <p>Result: r1 the consumer got the batch (1) or timed out (0); r2 batches left in the inbox.
 */
@JCStressTest
@Description("Inbox: a consumer parking in take() against the event loop adding a batch")
@Outcome(id = "1, 0", expect = Expect.ACCEPTABLE, desc = "the consumer got the batch, whether it was added before or during its wait")
@Outcome(id = "0, 1", expect = Expect.FORBIDDEN, desc = "lost wake-up: the consumer slept to its timeout while a batch waited")
@Outcome(expect = Expect.FORBIDDEN, desc = "not part of the protocol")
@State
public class InboxTakeWakeUpStress {
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final Inbox inbox = new Inbox(null, 1000, 1 << 20);
    private final InboundBatch batch = new InboundBatch(null, null, Unpooled.wrappedBuffer(new byte[8]), 1, 8);
    private final LocalChannel channel = new LocalChannel();

    @Actor
    public void consumer(II_Result r) {
        r.r1 = inbox.take(TIMEOUT_NANOS) == batch ? 1 : 0;
    }

    @Actor
    public void eventLoop() {
        inbox.add(channel, batch);
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r2 = inbox.poll() != null ? 1 : 0;
    }
}
