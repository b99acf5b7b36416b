package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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

class HelloHandlerTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");

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
    void aValidHelloIsAcceptedAndFramesBehindItInTheSameReadAreDelivered() {
        ByteBuf in = Protocol.encodeHello(PooledByteBufAllocator.DEFAULT, SENDER);
        in.writeInt(3).writeBytes("abc".getBytes(StandardCharsets.UTF_8)).writeInt(0);
        channel.writeInbound(in);

        assertNotice(Protocol.ACCEPTED, "");
        assertEquals(1, admission.stats().connectionsAccepted());
        InboundBatch batch = inbox.poll();
        assertNotNull(batch);
        assertEquals(2, batch.frames);
        assertEquals(SENDER, batch.sender);
        inbox.consumed(batch);
        assertTrue(channel.isActive());
    }

    @Test
    void aWrongMagicIsRejectedAsSoonAsFourBytesArrive() {
        channel.writeInbound(PooledByteBufAllocator.DEFAULT.buffer().writeBytes("GET ".getBytes(StandardCharsets.US_ASCII)));
        assertNotice(Protocol.MALFORMED_HELLO, "bad magic 0x47455420");
        assertFalse(channel.isActive());
        assertEquals(1, admission.stats().connectionsRejected());
    }

    @Test
    void anUnknownVersionIsRejectedWithTheVersionsInvolved() {
        ByteBuf in = Protocol.encodeHello(PooledByteBufAllocator.DEFAULT, SENDER);
        in.setByte(4, 9);
        channel.writeInbound(in);
        assertNotice(Protocol.UNSUPPORTED_VERSION, "protocol version 9 is not supported; this endpoint speaks 1 and 2");
        assertFalse(channel.isActive());
    }

    @Test
    void anAddressLengthAboveTheLimitIsRejected() {
        ByteBuf in = PooledByteBufAllocator.DEFAULT.buffer().writeInt(Protocol.MAGIC).writeByte(1).writeShort(5000);
        channel.writeInbound(in);
        assertNotice(Protocol.MALFORMED_HELLO, "hello address length 5000 is outside 1..1024");
    }

    @Test
    void anAddressLongerThanSunPathIsRejected() {
        String path = "/" + "x".repeat(Address.MAX_PATH_BYTES + 5);
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        ByteBuf in = PooledByteBufAllocator.DEFAULT.buffer()
                .writeInt(Protocol.MAGIC).writeByte(1).writeShort(bytes.length).writeBytes(bytes);
        channel.writeInbound(in);
        assertNotice(Protocol.MALFORMED_HELLO, "invalid sender address");
    }

    @Test
    void aPeerThatNeverCompletesItsHelloIsCutOffAfterTheTimeout() {
        // A timeout far beyond the test's real duration, reached by moving the embedded clock.
        EmbeddedChannel slow = new EmbeddedChannel(HelloHandler.forInbox(RECEIVER, inbox, null, 1024, TimeUnit.HOURS.toNanos(1), admission));
        slow.writeInbound(PooledByteBufAllocator.DEFAULT.buffer().writeInt(Protocol.MAGIC));
        assertTrue(slow.isActive(), "cut off before the timeout");
        slow.advanceTimeBy(61, TimeUnit.MINUTES);
        slow.runScheduledPendingTasks();
        ByteBuf notice = slow.readOutbound();
        try {
            assertEquals(Protocol.MALFORMED_HELLO, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertTrue(reason(notice).contains("no complete hello within"), reason(notice));
        } finally {
            notice.release();
        }
        assertFalse(slow.isActive());
        slow.finishAndReleaseAll();
    }

    @Test
    void aPeerThePolicyRefusesIsAnsweredNotAllowedBeforeItsHelloAndCounted() {
        Admission strict = new Admission(null, peer -> false, 10);
        EmbeddedChannel refused = new EmbeddedChannel(HelloHandler.forInbox(RECEIVER, inbox, null, 1024, TimeUnit.HOURS.toNanos(1), strict));
        ByteBuf notice = refused.readOutbound();
        try {
            assertEquals(Protocol.NOT_ALLOWED, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertTrue(reason(notice).contains("could not be read") || reason(notice).contains("not allowed"), reason(notice));
        } finally {
            notice.release();
        }
        assertFalse(refused.isActive());
        assertEquals(1, strict.stats().connectionsRejected());
        refused.finishAndReleaseAll();
    }

    @Test
    void aConnectionAboveTheCapIsAnsweredTooManyConnections() {
        Admission capped = new Admission(null, PeerPolicy.anyone(), 1);
        EmbeddedChannel first = new EmbeddedChannel(HelloHandler.forInbox(RECEIVER, inbox, null, 1024, TimeUnit.HOURS.toNanos(1), capped));
        EmbeddedChannel second = new EmbeddedChannel(HelloHandler.forInbox(RECEIVER, inbox, null, 1024, TimeUnit.HOURS.toNanos(1), capped));
        ByteBuf notice = second.readOutbound();
        try {
            assertEquals(Protocol.TOO_MANY_CONNECTIONS, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            assertTrue(reason(notice).contains("maximum of 1 connections"), reason(notice));
        } finally {
            notice.release();
        }
        assertTrue(first.isActive());
        assertFalse(second.isActive());
        first.finishAndReleaseAll();
        second.finishAndReleaseAll();
    }

    private void assertNotice(int code, String reasonPart) {
        ByteBuf notice = channel.readOutbound();
        assertNotNull(notice, "no notice was written");
        try {
            assertEquals(Protocol.MAGIC, notice.getInt(0));
            assertEquals(Protocol.VERSION, notice.getUnsignedByte(4));
            assertEquals(code, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET), Protocol.codeName(code));
            assertTrue(reason(notice).contains(reasonPart), reason(notice));
        } finally {
            notice.release();
        }
    }

    private static String reason(ByteBuf notice) {
        int length = notice.getUnsignedShort(Protocol.NOTICE_REASON_LENGTH_OFFSET);
        return notice.toString(Protocol.NOTICE_HEADER_LENGTH, length, StandardCharsets.UTF_8);
    }
}
