package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerPolicy;

/** The listener's side of a CONTROL connection: {@link HelloHandler} hands it to {@link ControlResponder}, which answers PINGs. */
class ControlResponderTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/stagecrew-control-1");
    private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    private final Inbox inbox = new Inbox(RECEIVER, 1000, Long.MAX_VALUE);
    private final Admission admission = new Admission(null, PeerPolicy.anyone(), 10);
    private final EmbeddedChannel channel =
            new EmbeddedChannel(HelloHandler.forInbox(RECEIVER, inbox, null, 1024, TimeUnit.SECONDS.toNanos(5), admission));

    @AfterEach
    void closeChannel() {
        channel.finishAndReleaseAll();
        inbox.close();
    }

    @Test
    void pingsBehindTheHelloInTheSameReadAreEachAnsweredWithTheirNonceAndNeverReachTheInbox() {
        ByteBuf in = Protocol.encodeControlHello(ALLOC, SENDER);
        in.writeInt(8).writeLong(0x1122334455667788L).writeInt(8).writeLong(-1L);
        channel.writeInbound(in);

        ByteBuf accept = channel.readOutbound();
        try {
            assertEquals(Protocol.VERSION_2, accept.getUnsignedByte(4));
            assertEquals(Protocol.ACCEPTED, accept.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertEquals(Protocol.PING_LENGTH, accept.getInt(Protocol.NOTICE_HEADER_LENGTH), "the one frame length taken");
        } finally {
            accept.release();
        }
        assertPong(0x1122334455667788L);
        assertPong(-1L);
        assertNull(inbox.poll(), "a ping reached the application");
        assertTrue(channel.isActive());
        assertEquals(1, admission.stats().connectionsAccepted());
    }

    @Test
    void aPingThatArrivesByteByByteIsAnsweredOnceWhole() {
        channel.writeInbound(Protocol.encodeControlHello(ALLOC, SENDER));
        channel.<ByteBuf>readOutbound().release();
        ByteBuf ping = Protocol.encodePing(ALLOC, 42);
        try {
            for (int i = 0; i < ping.readableBytes(); i++) {
                assertNull(channel.readOutbound(), "answered before the whole ping arrived");
                channel.writeInbound(ALLOC.buffer(1).writeByte(ping.getByte(i)));
            }
        } finally {
            ping.release();
        }
        assertPong(42);
        assertNull(channel.readOutbound());
    }

    @Test
    void aControlFrameOfAnotherLengthIsAProtocolErrorThatClosesTheConnection() {
        ByteBuf in = Protocol.encodeControlHello(ALLOC, SENDER);
        in.writeInt(8).writeLong(7).writeInt(3).writeBytes(new byte[3]);
        channel.writeInbound(in);
        channel.<ByteBuf>readOutbound().release();
        assertPong(7);
        ByteBuf notice = channel.readOutbound();
        try {
            assertEquals(Protocol.VERSION_2, notice.getUnsignedByte(4));
            assertEquals(Protocol.PROTOCOL_ERROR, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertTrue(reason(notice).contains("a control frame of 3 bytes; a PING is 8 bytes"), reason(notice));
        } finally {
            notice.release();
        }
        assertFalse(channel.isActive());
    }

    @Test
    void anUnknownKindIsAMalformedHelloNamingTheKind() {
        ByteBuf in = Protocol.encodeControlHello(ALLOC, SENDER);
        in.setByte(in.writerIndex() - 1, 9);
        channel.writeInbound(in);
        ByteBuf notice = channel.readOutbound();
        try {
            assertEquals(Protocol.VERSION_2, notice.getUnsignedByte(4));
            assertEquals(Protocol.MALFORMED_HELLO, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertTrue(reason(notice).contains("hello kind 9 is not known"), reason(notice));
        } finally {
            notice.release();
        }
        assertFalse(channel.isActive());
        assertEquals(1, admission.stats().connectionsRejected());
    }

    @Test
    void aVersion2HelloWithoutItsKindByteYetIsWaitedFor() {
        ByteBuf hello = Protocol.encodeControlHello(ALLOC, SENDER);
        channel.writeInbound(hello.readRetainedSlice(hello.readableBytes() - 1));
        assertNull(channel.readOutbound(), "answered a hello without its kind");
        channel.writeInbound(hello);
        ByteBuf accept = channel.readOutbound();
        assertNotNull(accept);
        accept.release();
    }

    private void assertPong(long nonce) {
        ByteBuf pong = channel.readOutbound();
        assertNotNull(pong, "no PONG for " + nonce);
        try {
            assertEquals(Protocol.NOTICE_HEADER_LENGTH + Protocol.PING_LENGTH, pong.readableBytes());
            assertEquals(Protocol.MAGIC, pong.getInt(0));
            assertEquals(Protocol.VERSION_2, pong.getUnsignedByte(4));
            assertEquals(Protocol.PONG, pong.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertEquals(Protocol.PING_LENGTH, pong.getUnsignedShort(Protocol.NOTICE_REASON_LENGTH_OFFSET));
            assertEquals(nonce, pong.getLong(Protocol.NOTICE_HEADER_LENGTH));
        } finally {
            pong.release();
        }
    }

    private static String reason(ByteBuf notice) {
        int length = notice.getUnsignedShort(Protocol.NOTICE_REASON_LENGTH_OFFSET);
        return notice.toString(Protocol.NOTICE_HEADER_LENGTH, length, StandardCharsets.UTF_8);
    }
}
