package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;

class FrameBatchDecoderTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");
    private static final PeerCredentials CREDENTIALS = new PeerCredentials(4711, 1000, 1000);
    private final Admission ADMISSION = new Admission(IoBackend.LOCAL, org.stagecrew.transport.PeerPolicy.anyone(), 10);

    private final Inbox inbox = new Inbox(RECEIVER, 1_000_000, Long.MAX_VALUE);
    private final EmbeddedChannel channel = new EmbeddedChannel(new FrameBatchDecoder(RECEIVER, SENDER, CREDENTIALS, inbox, null, 1024, ADMISSION));

    @AfterEach
    void closeChannel() {
        channel.finishAndReleaseAll();
        inbox.close();
    }

    @Test
    void everyWholeFrameOfOneReadArrivesInOneBatch() {
        channel.writeInbound(encode(payloads(3, 10)));

        InboundBatch batch = inbox.poll();
        assertEquals(3, batch.frames);
        assertEquals(SENDER, batch.sender);
        assertEquals(CREDENTIALS, batch.credentials);
        assertFrames(payloads(3, 10), walk(batch));
        assertNull(inbox.poll());
    }

    @Test
    void framesSplitAtEveryPossibleBoundaryArriveIntactAndInOrder() {
        List<byte[]> sent = payloads(5, 300);
        sent.add(new byte[0]);
        sent.add(1, new byte[0]);
        byte[] stream = ByteBufUtil.getBytes(releaseAfter(encode(sent)));
        for (int cut = 0; cut <= stream.length; cut++) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrameBatchDecoder(RECEIVER, SENDER, CREDENTIALS, inbox, null, 1024, ADMISSION));
            ch.writeInbound(buffer(stream, 0, cut));
            ch.writeInbound(buffer(stream, cut, stream.length - cut));
            assertFrames(sent, drainAll());
            assertFalse(ch.finish());
        }
    }

    @Test
    void framesFedOneByteAtATimeArriveIntact() {
        List<byte[]> sent = payloads(4, 50);
        byte[] stream = ByteBufUtil.getBytes(releaseAfter(encode(sent)));
        for (int i = 0; i < stream.length; i++) {
            channel.writeInbound(buffer(stream, i, 1));
        }
        assertFrames(sent, drainAll());
    }

    @Test
    void aLengthAboveTheMaximumClosesTheConnectionWithAReasonAfterDeliveringEarlierFrames() {
        ByteBuf in = encode(payloads(2, 8));
        in.writeInt(1025).writeBytes(new byte[16]);
        channel.writeInbound(in);

        assertEquals(2, drainAll().size());
        ByteBuf notice = channel.readOutbound();
        try {
            assertEquals(Protocol.MAGIC, notice.getInt(0));
            assertEquals(Protocol.PROTOCOL_ERROR, notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET));
            String reason = notice.toString(Protocol.NOTICE_HEADER_LENGTH,
                    notice.readableBytes() - Protocol.NOTICE_HEADER_LENGTH, java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(reason.contains("1025") && reason.contains("1024"), reason);
        } finally {
            notice.release();
        }
        assertFalse(channel.isActive());
        assertEquals(1, ADMISSION.stats().protocolErrors());
    }

    @Test
    void aTooLongLengthSplitAcrossReadsIsStillRefused() {
        ByteBuf header = PooledByteBufAllocator.DEFAULT.buffer().writeInt(5000);
        channel.writeInbound(header.readRetainedSlice(2));
        channel.writeInbound(header);
        ByteBuf notice = channel.readOutbound();
        notice.release();
        assertFalse(channel.isActive());
    }

    @Test
    void aFrameCutByTheConnectionClosingIsDroppedAndReleased() {
        ByteBuf in = encode(payloads(1, 8));
        in.writeInt(100).writeBytes(new byte[40]);
        channel.writeInbound(in);
        channel.close();
        assertEquals(1, drainAll().size());
    }

    private List<byte[]> drainAll() {
        List<byte[]> frames = new ArrayList<>();
        InboundBatch batch;
        while ((batch = inbox.poll()) != null) {
            frames.addAll(walk(batch));
        }
        return frames;
    }

    private List<byte[]> walk(InboundBatch batch) {
        List<byte[]> frames = payloadsOf(batch);
        inbox.consumed(batch);
        return frames;
    }

    /** The payloads of a batch's frames, checking that it holds whole frames only. */
    static List<byte[]> payloadsOf(InboundBatch batch) {
        List<byte[]> frames = new ArrayList<>();
        ByteBuf buf = batch.buffer;
        int cursor = buf.readerIndex();
        for (int i = 0; i < batch.frames; i++) {
            int length = buf.getInt(cursor);
            frames.add(ByteBufUtil.getBytes(buf, cursor + 4, length));
            cursor += 4 + length;
        }
        assertEquals(buf.writerIndex(), cursor, "a batch holds whole frames only");
        return frames;
    }

    private static List<byte[]> payloads(int count, int maxLength) {
        Random random = new Random(count * 31L + maxLength);
        List<byte[]> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] b = new byte[1 + random.nextInt(maxLength)];
            random.nextBytes(b);
            list.add(b);
        }
        return list;
    }

    private static ByteBuf encode(List<byte[]> payloads) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer();
        for (byte[] p : payloads) {
            buf.writeInt(p.length).writeBytes(p);
        }
        return buf;
    }

    private static ByteBuf buffer(byte[] bytes, int offset, int length) {
        return PooledByteBufAllocator.DEFAULT.directBuffer(Math.max(length, 1)).writeBytes(bytes, offset, length);
    }

    private static ByteBuf releaseAfter(ByteBuf buf) {
        ByteBuf copy = io.netty.buffer.Unpooled.copiedBuffer(buf);
        buf.release();
        return copy;
    }

    private static void assertFrames(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "frame " + i);
        }
    }
}
