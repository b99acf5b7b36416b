package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.local.LocalChannel;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The inbox's full/resume for an in-JVM sender: the sender's drain finds the destination's inbox
 * full and parks ({@link Inbox#parkUntilRoom}) while a consumer takes the batch that filled it
 * ({@link Inbox#consumed}). A sender that parked must be woken exactly once; one that found room
 * must not park.
 *
 * <p>Result: r1 the sender parked (1) or found room (0); r2 times it was woken.
 */
@JCStressTest
@Description("Inbox: an in-JVM sender parking on a full inbox against the consumer making room")
@Outcome(id = "1, 1", expect = Expect.ACCEPTABLE, desc = "parked on the full inbox, woken once the consumer made room")
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "the consumer made room first: the sender did not park")
@Outcome(id = "1, 0", expect = Expect.FORBIDDEN, desc = "lost wake-up: the sender stays parked on an inbox with room")
@Outcome(expect = Expect.FORBIDDEN, desc = "not part of the protocol")
@State
public class InboxParkedSenderStress {
    private final Inbox inbox = new Inbox(null, 2, 1 << 20);
    private final InboundBatch batch = new InboundBatch(null, null, Unpooled.wrappedBuffer(new byte[8]), 2, 8);
    private final AtomicInteger woken = new AtomicInteger();
    private final Runnable wake = woken::incrementAndGet;

    public InboxParkedSenderStress() {
        inbox.add(new LocalChannel(), batch); // two frames: full
        inbox.poll(); // a consumer holds it
    }

    @Actor
    public void sender(II_Result r) {
        r.r1 = inbox.parkUntilRoom(wake) ? 1 : 0;
    }

    @Actor
    public void consumer() {
        inbox.consumed(batch);
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r2 = woken.get();
    }
}
