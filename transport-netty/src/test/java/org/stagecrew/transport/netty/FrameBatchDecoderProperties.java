package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterProperty;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;
import org.stagecrew.transport.test.LeakDetection;

/**
 * Properties of the batching decoder over arbitrary input split at arbitrary points: what was
 * encoded comes out unchanged and in order; garbage never makes it throw, never makes it deliver a
 * frame longer than the maximum, and never leaks a buffer.
 */
class FrameBatchDecoderProperties {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");
    private static final int MAX = 512;
    private static final int LARGE_MAX = 1024 * 1024;

    @AfterProperty
    void noBufferLeaked() {
        LeakDetection.assertNoLeaks();
    }

    @Property(tries = 300)
    void encodedFramesComeOutUnchangedWhereverTheStreamIsCut(
            @ForAll("payloads") List<byte[]> payloads, @ForAll @Size(max = 12) List<@IntRange(min = 1, max = 2000) Integer> cuts) {
        assertComeOutUnchanged(payloads, cuts, MAX);
    }

    /** Large frames cut by reads are put together from slices of the reads, not copied: the same bytes must come out. */
    @Property(tries = 60)
    void largeFramesComeOutUnchangedWhereverTheStreamIsCut(
            @ForAll("largePayloads") List<byte[]> payloads, @ForAll @Size(max = 16) List<@IntRange(min = 1, max = 40_000) Integer> cuts) {
        assertComeOutUnchanged(payloads, cuts, LARGE_MAX);
    }

    private static void assertComeOutUnchanged(List<byte[]> payloads, List<Integer> cuts, int max) {
        byte[] stream = encode(payloads);
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        EmbeddedChannel channel = channel(inbox, max);
        try {
            feed(channel, stream, cuts);
            List<byte[]> out = drain(inbox);
            if (out.size() != payloads.size()) {
                throw new AssertionError("sent " + payloads.size() + " frames, got " + out.size());
            }
            for (int i = 0; i < out.size(); i++) {
                if (!Arrays.equals(payloads.get(i), out.get(i))) {
                    throw new AssertionError("frame " + i + " differs");
                }
            }
            if (!channel.isActive()) {
                throw new AssertionError("a valid stream closed the connection");
            }
        } finally {
            channel.finishAndReleaseAll();
            inbox.close();
        }
    }

    @Property(tries = 500)
    void garbageNeverThrowsNeverDeliversAnOverlongFrameAndNeverLeaks(
            @ForAll @Size(max = 3000) byte[] garbage, @ForAll @Size(max = 12) List<@IntRange(min = 1, max = 3000) Integer> cuts) {
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        EmbeddedChannel channel = channel(inbox, MAX);
        try {
            feed(channel, garbage, cuts);
            List<byte[]> out = drain(inbox);
            int consumed = 0;
            for (byte[] frame : out) {
                if (frame.length > MAX) {
                    throw new AssertionError("delivered a frame of " + frame.length + " bytes, above the maximum " + MAX);
                }
                // Every delivered frame is exactly the bytes that followed its length field.
                byte[] expected = Arrays.copyOfRange(garbage, consumed + 4, consumed + 4 + frame.length);
                if (!Arrays.equals(expected, frame)) {
                    throw new AssertionError("a delivered frame differs from the input at offset " + consumed);
                }
                consumed += 4 + frame.length;
            }
            ByteBuf notice;
            while ((notice = channel.readOutbound()) != null) {
                if (notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET) != Protocol.PROTOCOL_ERROR) {
                    notice.release();
                    throw new AssertionError("the only notice a decoder sends is PROTOCOL_ERROR");
                }
                notice.release();
            }
        } finally {
            channel.finishAndReleaseAll();
            inbox.close();
        }
    }

    @Provide
    Arbitrary<List<byte[]>> payloads() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(MAX).list().ofMaxSize(20);
    }

    /** Up to six payloads of up to 80 KiB: below and above {@link FrameBatchDecoder#ASSEMBLE_THRESHOLD}. */
    @Provide
    Arbitrary<List<byte[]>> largePayloads() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(80 * 1024).list().ofMaxSize(6);
    }

    private static EmbeddedChannel channel(Inbox inbox, int max) {
        Admission admission = new Admission(null, PeerPolicy.anyone(), 10);
        return new EmbeddedChannel(new FrameBatchDecoder(RECEIVER, SENDER, new PeerCredentials(1, 2, 3), inbox, null, max, admission));
    }

    private static void feed(EmbeddedChannel channel, byte[] stream, List<Integer> cuts) {
        int position = 0;
        for (int cut : cuts) {
            if (position >= stream.length || !channel.isActive()) {
                break;
            }
            int length = Math.min(cut, stream.length - position);
            channel.writeInbound(PooledByteBufAllocator.DEFAULT.directBuffer(length).writeBytes(stream, position, length));
            position += length;
        }
        if (position < stream.length && channel.isActive()) {
            channel.writeInbound(PooledByteBufAllocator.DEFAULT.directBuffer().writeBytes(stream, position, stream.length - position));
        }
    }

    private static List<byte[]> drain(Inbox inbox) {
        List<byte[]> frames = new ArrayList<>();
        InboundBatch batch;
        while ((batch = inbox.poll()) != null) {
            ByteBuf buf = batch.buffer;
            int cursor = buf.readerIndex();
            for (int i = 0; i < batch.frames; i++) {
                int length = buf.getInt(cursor);
                frames.add(ByteBufUtil.getBytes(buf, cursor + 4, length));
                cursor += 4 + length;
            }
            inbox.consumed(batch);
        }
        return frames;
    }

    private static byte[] encode(List<byte[]> payloads) {
        int size = payloads.stream().mapToInt(p -> 4 + p.length).sum();
        ByteBuf buf = io.netty.buffer.Unpooled.buffer(size);
        for (byte[] p : payloads) {
            buf.writeInt(p.length).writeBytes(p);
        }
        return ByteBufUtil.getBytes(buf);
    }
}
