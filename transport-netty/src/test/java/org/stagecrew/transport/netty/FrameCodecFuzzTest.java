package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.stagecrew.transport.ProtocolException;

/**
 * Fuzzes the decoder of the drop-in codec ({@link FrameCodec#decoder}) that users put in pipelines of
 * their own, with an arbitrary stream cut into arbitrary reads (see {@link FuzzInput}), and holds it
 * to {@link WireModel}: it emits exactly the whole frames, in order, byte for byte; a length above
 * the maximum ends in the frames before it, one {@code PROTOCOL_ERROR} notice and one {@link
 * ProtocolException} naming both lengths, and a closed channel; anything else leaves the channel
 * open, silent and without an exception. After every read it holds at most {@code 2 * (4 + L + 16 * R)
 * + 64} bytes (what Netty's cumulation allows: a power of two, decoded bytes discarded every 16
 * reads), L being the largest declared length of a frame in progress so far and R the largest read,
 * and after close
 * nothing at all.
 *
 * <p>Input: a config byte (bits 0-2: maximum from {@link FrameBatchDecoderFuzzTest#MAX_FRAME_LENGTHS};
 * bit 4: reads in heap buffers), then reads.
 */
class FrameCodecFuzzTest {
    /** ByteToMessageDecoder's default for {@code setDiscardAfterReads}. */
    private static final int DISCARD_AFTER_READS = 16;

    @FuzzTest
    void decoderEmitsExactlyTheWholeFramesOfAnyStreamCutAnywhere(byte[] data) {
        FuzzInput input = new FuzzInput(data);
        int config = input.u8();
        int max = FrameBatchDecoderFuzzTest.MAX_FRAME_LENGTHS[config & 7];
        boolean heap = (config & 16) != 0;
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Collector collector = new Collector();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(FrameCodec.decoder(max), collector);
        List<FrameBatchDecoderFuzzTest.Notice> notices = new ArrayList<>();
        try {
            int fed = 0;
            int boundary = 0;
            long largestRead = 0;
            long largestPending = -1;
            for (FuzzInput.Read read : reads) {
                if (!channel.isOpen()) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, heap));
                fed += read.bytes().length;
                largestRead = Math.max(largestRead, read.capacity());
                FrameBatchDecoderFuzzTest.drainOutbound(channel, notices);
                boundary = WireModel.nextBoundary(stream, boundary, fed, max);
                long pendingLength = fed - boundary >= WireModel.HEADER ? WireModel.declaredAt(stream, boundary) : -1;
                if (pendingLength <= max) {
                    largestPending = Math.max(largestPending, pendingLength);
                }
                // ByteToMessageDecoder merges reads into one cumulation buffer, grown to a power of two (at least 64), and discards
                // the bytes already decoded only when all are, or every DISCARD_AFTER_READS reads: so it may hold that many reads
                // besides the frame in progress, and keeps the buffer's capacity while part of it is unread.
                long bound = 2 * (WireModel.HEADER + Math.max(0, largestPending) + DISCARD_AFTER_READS * largestRead) + 64;
                long held = peer.used() + ours.used();
                if (held > bound) {
                    throw new AssertionError("after " + fed + " bytes in reads of up to " + largestRead + " bytes, the decoder holds "
                            + held + " bytes for a frame in progress of declared length " + pendingLength + " (bound " + bound + ")");
                }
            }
            boolean openBeforeClose = channel.isActive();
            channel.finish();
            FrameBatchDecoderFuzzTest.drainOutbound(channel, notices);
            WireModel.Frames expected = WireModel.frames(stream, stream.length, max);
            WireModel.assertSameFrames(expected.frames(), collector.frames, "frames emitted");
            if (expected.isBroken()) {
                String reason = "frame length " + expected.badLength() + " exceeds maxFrameLength " + max;
                FrameBatchDecoderFuzzTest.assertOneProtocolError(notices, reason);
                if (collector.errors.size() != 1 || !(collector.errors.get(0) instanceof ProtocolException)
                        || !collector.errors.get(0).getMessage().contains(reason)) {
                    throw new AssertionError("expected one ProtocolException saying \"" + reason + "\", got " + collector.errors);
                }
                if (openBeforeClose) {
                    throw new AssertionError("an over-long frame did not close the channel");
                }
            } else {
                if (!openBeforeClose) {
                    throw new AssertionError("a stream within the protocol closed the channel");
                }
                if (!notices.isEmpty() || !collector.errors.isEmpty()) {
                    throw new AssertionError("a stream within the protocol was answered with " + notices + " / " + collector.errors);
                }
            }
        } finally {
            channel.finishAndReleaseAll();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used()
                    + " bytes of the decoder's own buffers were not released");
        }
    }

    /** What the handler after the decoder sees: payloads (copied and released at once), exceptions, the close. */
    static final class Collector extends ChannelInboundHandlerAdapter {
        final List<byte[]> frames = new ArrayList<>();
        final List<Throwable> errors = new ArrayList<>();
        boolean inactive;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf payload = (ByteBuf) msg;
            try {
                if (inactive) {
                    throw new AssertionError("a frame was emitted after the channel closed");
                }
                frames.add(ByteBufUtil.getBytes(payload));
            } finally {
                payload.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            errors.add(cause);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            inactive = true;
        }
    }
}
