package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerPolicy;

/**
 * The example of PROTOCOL.md, "Version 2: acknowledged streams", byte for byte: the hex lines
 * below are the ones proposed for PROTOCOL.md, produced by the encoders and accepted by the
 * listener's handler.
 */
class ProtocolV2ExampleTest {
    static final String HELLO = "53 43 52 57 02 00 0b 2f 74 6d 70 2f 61 2e 73 6f 63 6b 00 00 00 00 00 00 00 00 2a 00 00 00 00 00 00 00 00";
    static final String ACCEPTED = "53 43 52 57 02 00 00 14 01 00 00 00 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00 00";
    static final String FRAMES = "00 00 00 05 68 65 6c 6c 6f 00 00 00 05 77 6f 72 6c 64";
    static final String ACK = "53 43 52 57 02 07 00 08 00 00 00 00 00 00 00 02";

    private static String hex(ByteBuf buf) {
        try {
            return ByteBufUtil.hexDump(buf).replaceAll("(..)(?!$)", "$1 ");
        } finally {
            buf.release();
        }
    }

    private static ByteBuf bytes(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex.replace(" ", "")));
    }

    @Test
    void theEncodersWriteTheExampleBytes() {
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        assertEquals(HELLO, hex(ProtocolV2.encodeStreamHello(alloc, Address.of("/tmp/a.sock"), 42, 0)));
        assertEquals(ACCEPTED, hex(ProtocolV2.encodeStreamAccept(alloc, 16 * 1024 * 1024, 7, 0)));
        assertEquals(ACK, hex(ProtocolV2.encodeAck(alloc, 2)));
    }

    @Test
    void aListenerAnswersTheExampleHelloAndAcknowledgesBothFramesOnceConsumed() {
        Inbox inbox = new Inbox(Address.of("/tmp/b.sock"), 100, Long.MAX_VALUE);
        Discards discards = new Discards();
        AckStreams streams = new AckStreams(discards);
        EmbeddedChannel listener = new EmbeddedChannel(HelloHandler.forInbox(Address.of("/tmp/b.sock"), inbox, null,
                16 * 1024 * 1024, TimeUnit.SECONDS.toNanos(5), new Admission(null, PeerPolicy.anyone(), 10), discards, streams));
        try {
            listener.writeInbound(bytes(HELLO + " " + FRAMES));
            ByteBuf accepted = listener.readOutbound();
            String incarnation = String.format("%016x", streams.incarnation()).replaceAll("(..)(?!$)", "$1 ");
            assertEquals(ACCEPTED.replace("00 00 00 00 00 00 00 07", incarnation), hex(accepted), "ACCEPTED with this incarnation");
            InboundBatch batch = inbox.poll();
            assertNotNull(batch);
            assertEquals(2, batch.frames);
            inbox.consumed(batch);
            listener.runPendingTasks();
            assertEquals(ACK, hex(listener.readOutbound()));
        } finally {
            listener.finishAndReleaseAll();
            inbox.close();
        }
    }
}
