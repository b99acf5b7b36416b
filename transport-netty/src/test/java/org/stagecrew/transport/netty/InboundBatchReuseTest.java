package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerPolicy;

class InboundBatchReuseTest {
    private static ByteBuf frames(int count) {
        ByteBuf buf = Unpooled.buffer();
        for (int i = 0; i < count; i++) {
            buf.writeInt(1).writeByte(i);
        }
        return buf;
    }

    @Test
    void aConsumedBatchComesBackFromTheNextAddClearedOfItsBufferAndPeer() {
        Inbox inbox = new Inbox(null, 1000, 1 << 20);
        EmbeddedChannel channel = new EmbeddedChannel();
        ByteBuf firstBuffer = frames(2);
        InboundBatch first = new InboundBatch(null, null, firstBuffer, 2, 0);
        assertNull(inbox.add(channel, first), "nothing consumed yet: no spare");
        assertSame(first, inbox.poll());
        inbox.consumed(first);
        assertEquals(0, firstBuffer.refCnt(), "consumed releases the buffer");
        assertNull(first.buffer, "a pooled batch holds no buffer");

        InboundBatch second = new InboundBatch(null, null, frames(1), 1, 0);
        assertSame(first, inbox.add(channel, second), "the consumed batch is handed back for the next read");
        assertSame(second, inbox.poll());
        inbox.consumed(second);
        channel.finishAndReleaseAll();
    }

    @Test
    void theDecoderFillsTheBatchObjectTheInboxHandedBackInsteadOfAllocatingOne() {
        Address receiver = Address.of("/tmp/receiver.sock");
        Address sender = Address.of("/tmp/sender.sock");
        Inbox inbox = new Inbox(receiver, 1000, 1 << 20);
        Admission admission = new Admission(IoBackend.LOCAL, PeerPolicy.anyone(), 10);
        EmbeddedChannel channel = new EmbeddedChannel(new FrameBatchDecoder(receiver, sender, null, inbox, null, 1024, admission));
        channel.writeInbound(frames(3));
        InboundBatch first = inbox.poll();
        assertEquals(3, first.frames);
        inbox.consumed(first);

        channel.writeInbound(frames(2)); // this add hands the consumed batch back to the decoder
        InboundBatch second = inbox.poll();
        assertEquals(2, second.frames);
        inbox.consumed(second);

        channel.writeInbound(frames(4));
        InboundBatch third = inbox.poll();
        assertSame(first, third, "the third read is carried by the first read's batch object");
        assertEquals(sender, third.sender);
        assertEquals(4, third.frames);
        assertEquals(4, third.remaining);
        assertEquals(1, third.buffer.getInt(third.cursor));
        inbox.consumed(third);
        channel.finishAndReleaseAll();
    }
}
