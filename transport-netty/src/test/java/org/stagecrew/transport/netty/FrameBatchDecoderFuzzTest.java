package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;

/**
 * Fuzzes the listener's frame decoder ({@link FrameBatchDecoder}, with its copied partial frames and
 * large frames assembled from slices of the reads) with an arbitrary stream cut into arbitrary reads
 * (see {@link FuzzInput}), and holds it to {@link WireModel}:
 * <ul>
 *   <li>it delivers exactly the whole frames of the stream, in order, byte for byte, and nothing of
 *       an incomplete last frame;
 *   <li>a length above the maximum ends in one {@code PROTOCOL_ERROR} notice naming both lengths and
 *       a closed connection; a stream without one leaves the connection open and silent;
 *   <li>after every read, with a consumer that keeps up, it holds at most {@code 2 * (4 + L)} bytes
 *       plus the largest read buffer, L being the declared length of the frame in progress (the
 *       memory a peer can make it hold is what its declared lengths allow, not more);
 *   <li>once the connection is closed every buffer is released, its own and the reads'
 *       ({@link MeteredAllocator}: exact, per input).
 * </ul>
 * Input: a config byte (bits 0-2: maximum frame length from {@link #MAX_FRAME_LENGTHS}; bit 3:
 * frames go to an event-loop handler instead of the inbox; bit 4: reads in heap buffers), then
 * reads.
 */
class FrameBatchDecoderFuzzTest {
    static final int[] MAX_FRAME_LENGTHS = {0, 1, 7, 512, 32_767, 32_768, 65_536, 1 << 20};
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");

    @FuzzTest
    void decodesExactlyTheWholeFramesOfAnyStreamCutAnywhere(byte[] data) {
        FuzzInput input = new FuzzInput(data);
        int config = input.u8();
        int max = MAX_FRAME_LENGTHS[config & 7];
        boolean onEventLoop = (config & 8) != 0;
        boolean heap = (config & 16) != 0;
        List<FuzzInput.Read> reads = input.reads();

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        Admission admission = new Admission(null, PeerPolicy.anyone(), 10);
        List<byte[]> delivered = new ArrayList<>();
        FrameHandler handler = frame -> {
            byte[] payload = ByteBufUtil.getBytes(frame.payload());
            delivered.add(payload);
            if (payload.length > 0 && payload[0] == 0x7F) {
                throw new IllegalStateException("a user handler that throws; the decoder must go on");
            }
        };
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(new FrameBatchDecoder(RECEIVER, SENDER, new PeerCredentials(1, 2, 3), inbox,
                onEventLoop ? handler : null, max, admission));
        List<Notice> notices = new ArrayList<>();
        try {
            byte[] stream = FuzzInput.stream(reads);
            int fed = 0;
            int boundary = 0;
            long largestRead = 0;
            for (FuzzInput.Read read : reads) {
                if (!channel.isOpen()) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, heap));
                fed += read.bytes().length;
                largestRead = Math.max(largestRead, read.capacity());
                drain(inbox, delivered);
                drainOutbound(channel, notices);
                boundary = WireModel.nextBoundary(stream, boundary, fed, max);
                long pendingLength = fed - boundary >= WireModel.HEADER ? WireModel.declaredAt(stream, boundary) : -1;
                long bound = 2 * (WireModel.HEADER + Math.max(0, pendingLength)) + largestRead;
                long held = peer.used() + ours.used();
                if (held > bound) {
                    throw new AssertionError("after " + fed + " bytes in reads of up to " + largestRead + " bytes, the decoder holds "
                            + held + " bytes for a frame in progress of declared length " + pendingLength + " (bound " + bound + ")");
                }
            }
            WireModel.Frames expected = WireModel.frames(stream, stream.length, max);
            WireModel.assertSameFrames(expected.frames(), delivered, "frames delivered");
            if (expected.isBroken()) {
                if (channel.isActive()) {
                    throw new AssertionError("length " + expected.badLength() + " above the maximum " + max + " left the connection open");
                }
                assertOneProtocolError(notices, "frame length " + expected.badLength() + " exceeds maxFrameLength " + max);
                if (admission.stats().protocolErrors() != 1) {
                    throw new AssertionError("protocol errors counted: " + admission.stats().protocolErrors());
                }
            } else {
                if (!channel.isActive()) {
                    throw new AssertionError("a stream within the protocol closed the connection");
                }
                if (!notices.isEmpty()) {
                    throw new AssertionError("a stream within the protocol was answered with a notice");
                }
            }
        } finally {
            channel.finishAndReleaseAll();
            drain(inbox, delivered);
            inbox.close();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used()
                    + " bytes of the decoder's own buffers were not released");
        }
    }

    /** A notice as read from the wire: its code and detail, checked to be well formed. */
    record Notice(int code, String reason) {
    }

    static void assertOneProtocolError(List<Notice> notices, String reason) {
        if (notices.size() != 1 || notices.get(0).code() != Protocol.PROTOCOL_ERROR || !notices.get(0).reason().contains(reason)) {
            throw new AssertionError("expected one PROTOCOL_ERROR notice saying \"" + reason + "\", got " + notices);
        }
    }

    /** Reads (and releases) every notice written so far, failing on one that breaks the notice layout. */
    static void drainOutbound(EmbeddedChannel channel, List<Notice> into) {
        for (ByteBuf notice; (notice = channel.readOutbound()) != null; ) {
            try {
                int length = notice.getUnsignedShort(Protocol.NOTICE_REASON_LENGTH_OFFSET);
                if (notice.getInt(0) != Protocol.MAGIC || notice.getUnsignedByte(4) != Protocol.VERSION
                        || notice.readableBytes() != Protocol.NOTICE_HEADER_LENGTH + length || length > Protocol.MAX_REASON_LENGTH) {
                    throw new AssertionError("a malformed notice was written: " + ByteBufUtil.hexDump(notice));
                }
                into.add(new Notice(notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET),
                        notice.toString(Protocol.NOTICE_HEADER_LENGTH, length, StandardCharsets.UTF_8)));
            } finally {
                notice.release();
            }
        }
    }

    private static void drain(Inbox inbox, List<byte[]> into) {
        for (InboundBatch batch; (batch = inbox.poll()) != null; ) {
            ByteBuf buf = batch.buffer;
            int cursor = buf.readerIndex();
            for (int i = 0; i < batch.frames; i++) {
                int length = buf.getInt(cursor);
                into.add(ByteBufUtil.getBytes(buf, cursor + WireModel.HEADER, length));
                cursor += WireModel.HEADER + length;
            }
            if (cursor != buf.writerIndex()) {
                inbox.consumed(batch);
                throw new AssertionError("a batch of " + batch.frames + " frames has " + (buf.writerIndex() - cursor) + " bytes after them");
            }
            inbox.consumed(batch);
        }
    }
}
