package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;

/**
 * Differential target: payloads encoded by the drop-in {@link FrameCodec#encoder()} are decoded by
 * both listeners' decoders, the transport's {@link FrameBatchDecoder} and the drop-in {@link
 * FrameCodec#decoder}, from the same stream cut at the same arbitrary points; both must give back
 * exactly the payloads (up to the first one above the maximum, where both must stop with a protocol
 * error). With no payloads, the rest of the input is an arbitrary stream, which both decoders must
 * split into the same frames with the same verdict. The encoder must release every payload and
 * write nothing but the frames.
 *
 * <p>Input: a config byte (bits 0-2: maximum from {@link FrameBatchDecoderFuzzTest#MAX_FRAME_LENGTHS}),
 * a payload count (u8, at most {@value #MAX_PAYLOADS}), the payloads ({@code [0][u16 n][n bytes]}
 * or {@code [1][u24 n][u8 b]} for n bytes b, b+1, ...), then the sizes of the reads the stream is cut
 * into (u16 each, used in turn; 0 or none means one read). With a count of 0: one u16 read size, then
 * the stream.
 */
class FrameRoundTripFuzzTest {
    static final int MAX_PAYLOADS = 64;
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");

    @FuzzTest
    void framesEncodedByFrameCodecComeOutOfBothDecodersUnchanged(byte[] data) {
        FuzzInput input = new FuzzInput(data);
        int max = FrameBatchDecoderFuzzTest.MAX_FRAME_LENGTHS[input.u8() & 7];
        int count = Math.min(input.u8(), MAX_PAYLOADS);
        byte[] stream;
        int[] cuts;
        List<byte[]> payloads = new ArrayList<>();
        if (count == 0) {
            cuts = new int[] {input.u16()};
            stream = input.bytes(data.length);
        } else {
            int budget = FuzzInput.MAX_GENERATED_BYTES;
            for (int i = 0; i < count; i++) {
                byte[] payload = payload(input, budget);
                budget -= payload.length;
                payloads.add(payload);
            }
            stream = encodeWithFrameCodec(payloads);
            if (!Arrays.equals(stream, WireModel.encode(payloads))) {
                throw new AssertionError("FrameCodec's encoder wrote other bytes than PROTOCOL.md's frame layout");
            }
            List<Integer> sizes = new ArrayList<>();
            while (input.hasMore() && sizes.size() < FuzzInput.MAX_READS) {
                sizes.add(input.u16());
            }
            cuts = sizes.stream().mapToInt(Integer::intValue).toArray();
        }
        WireModel.Frames expected = WireModel.frames(stream, stream.length, max);
        if (count > 0) {
            int firstTooLong = 0;
            while (firstTooLong < payloads.size() && payloads.get(firstTooLong).length <= max) {
                firstTooLong++;
            }
            WireModel.assertSameFrames(payloads.subList(0, firstTooLong), expected.frames(), "model of the encoded payloads");
        }

        Decoded batch = decodeWithFrameBatchDecoder(stream, cuts, max);
        Decoded codec = decodeWithFrameCodec(stream, cuts, max);
        WireModel.assertSameFrames(expected.frames(), batch.frames, "FrameBatchDecoder");
        WireModel.assertSameFrames(expected.frames(), codec.frames, "FrameCodec.decoder");
        if (batch.broken != expected.isBroken() || codec.broken != expected.isBroken()) {
            throw new AssertionError("protocol error expected: " + expected.isBroken() + ", FrameBatchDecoder: " + batch.broken
                    + ", FrameCodec.decoder: " + codec.broken);
        }
    }

    private static byte[] payload(FuzzInput input, int budget) {
        if ((input.u8() & 1) == 0) {
            return input.bytes(input.u16());
        }
        return FuzzInput.pattern(Math.min(input.u24(), Math.min(FuzzInput.MAX_GENERATED_READ, Math.max(0, budget))), input.u8(), true);
    }

    private static byte[] encodeWithFrameCodec(List<byte[]> payloads) {
        MeteredAllocator alloc = new MeteredAllocator();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(FrameCodec.encoder());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            for (byte[] payload : payloads) {
                channel.writeOutbound(alloc.directBuffer(payload.length).writeBytes(payload));
            }
            for (ByteBuf written; (written = channel.readOutbound()) != null; ) {
                out.writeBytes(ByteBufUtil.getBytes(written));
                written.release();
            }
        } finally {
            channel.finishAndReleaseAll();
        }
        if (alloc.used() != 0) {
            throw new AssertionError("the encoder left " + alloc.used() + " bytes unreleased");
        }
        return out.toByteArray();
    }

    /** What a decoder made of a stream: the payloads, and whether it ended the connection with a protocol error. */
    private record Decoded(List<byte[]> frames, boolean broken) {
    }

    private static Decoded decodeWithFrameBatchDecoder(byte[] stream, int[] cuts, int max) {
        MeteredAllocator alloc = new MeteredAllocator();
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        List<byte[]> frames = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new FrameBatchDecoder(RECEIVER, SENDER, new PeerCredentials(1, 2, 3), inbox,
                frame -> frames.add(ByteBufUtil.getBytes(frame.payload())), max, new Admission(null, PeerPolicy.anyone(), 10)));
        List<FrameBatchDecoderFuzzTest.Notice> notices = new ArrayList<>();
        boolean broken;
        try {
            feed(channel, alloc, stream, cuts);
            FrameBatchDecoderFuzzTest.drainOutbound(channel, notices);
            broken = !channel.isActive() && !notices.isEmpty();
        } finally {
            channel.finishAndReleaseAll();
            inbox.close();
        }
        checkReleased(alloc, "FrameBatchDecoder");
        return new Decoded(frames, broken);
    }

    private static Decoded decodeWithFrameCodec(byte[] stream, int[] cuts, int max) {
        MeteredAllocator alloc = new MeteredAllocator();
        FrameCodecFuzzTest.Collector collector = new FrameCodecFuzzTest.Collector();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(FrameCodec.decoder(max), collector);
        List<FrameBatchDecoderFuzzTest.Notice> notices = new ArrayList<>();
        boolean broken;
        try {
            feed(channel, alloc, stream, cuts);
            FrameBatchDecoderFuzzTest.drainOutbound(channel, notices);
            broken = !channel.isActive() && !notices.isEmpty() && !collector.errors.isEmpty();
        } finally {
            channel.finishAndReleaseAll();
        }
        checkReleased(alloc, "FrameCodec.decoder");
        return new Decoded(collector.frames, broken);
    }

    private static void feed(EmbeddedChannel channel, MeteredAllocator alloc, byte[] stream, int[] cuts) {
        int position = 0;
        for (int i = 0; position < stream.length && channel.isOpen(); i++) {
            int cut = cuts.length == 0 || cuts[i % cuts.length] == 0 ? stream.length : cuts[i % cuts.length];
            int length = Math.min(cut, stream.length - position);
            channel.writeInbound(alloc.directBuffer(length).writeBytes(stream, position, length));
            position += length;
        }
    }

    private static void checkReleased(MeteredAllocator alloc, String decoder) {
        if (alloc.used() != 0) {
            throw new AssertionError(decoder + " left " + alloc.used() + " bytes unreleased after close");
        }
    }
}
