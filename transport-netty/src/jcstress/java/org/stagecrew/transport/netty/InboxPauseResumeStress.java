package org.stagecrew.transport.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.ZZ_Result;

/**
 * The inbox's full/resume for a socket: the event loop adds a batch that fills the inbox and so
 * pauses its channel ({@code autoRead} off), while a consumer finishes the batch before it and so
 * brings the inbox back to half its capacity. Capacity 2 frames; one frame held before. Whatever
 * the order, one frame is held at the end: the inbox is not full and the channel must be reading,
 * else that connection is never read again.
 *
 * <p>Result: r1 the inbox reports full; r2 the channel reads.
 */
@JCStressTest
@Description("Inbox: pausing a channel on a full inbox against the consumer's resume")
@Outcome(id = "false, true", expect = Expect.ACCEPTABLE, desc = "not full, and the channel reads")
@Outcome(id = "false, false", expect = Expect.FORBIDDEN, desc = "the channel stays paused on an inbox with room: its connection stalls")
@Outcome(id = "true, .*", expect = Expect.FORBIDDEN, desc = "the inbox holds 1 of 2 frames yet reports full")
@Outcome(expect = Expect.FORBIDDEN, desc = "not part of the protocol")
@State
public class InboxPauseResumeStress {
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final Inbox inbox = new Inbox(null, 2, 1 << 20);
    private final InboundBatch first = new InboundBatch(null, null, Unpooled.wrappedBuffer(new byte[8]), 1, 8);
    private final InboundBatch second = new InboundBatch(null, null, Unpooled.wrappedBuffer(new byte[8]), 1, 8);

    public InboxPauseResumeStress() {
        inbox.add(channel, first);
        inbox.poll(); // a consumer holds it
    }

    @Actor
    public void eventLoop() {
        inbox.add(channel, second);
    }

    @Actor
    public void consumer() {
        inbox.consumed(first);
    }

    @Arbiter
    public void arbiter(ZZ_Result r) {
        r.r1 = inbox.isFull();
        r.r2 = channel.config().isAutoRead();
    }
}
