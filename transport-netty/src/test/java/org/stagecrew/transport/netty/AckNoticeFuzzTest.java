package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportException;

/**
 * Fuzzes the connector's parser of version 2 notices on an acknowledged stream ({@link
 * NoticeDecoder} with a listener that, like {@link AckedConnection}, takes ACKs) with an arbitrary
 * stream of notices cut into arbitrary reads (see {@link FuzzInput}), and holds it to PROTOCOL.md,
 * "Version 2", written out here a second time:
 * <ul>
 *   <li>the hello it sends is the listener's, byte for byte;
 *   <li>{@code ACCEPTED} of version 2 with at least 20 detail bytes reports the maximum, the
 *       listener's incarnation and the resume number; with fewer, or of version 1, a plain accept;
 *   <li>{@code ACK} (code 7) of version 2 with exactly 8 detail bytes reports the number, any number
 *       of times; any other {@code ACK} breaks the protocol ({@link ProtocolException}) and ends it;
 *   <li>any other code, a wrong magic or a detail above 1024 bytes ends it with one failure;
 *   <li>an incomplete notice is waited for; every buffer is released after close.
 * </ul>
 * Input: a config byte (unused, kept for the common format), then reads.
 */
class AckNoticeFuzzTest {
    private static final Address SELF = Address.of("/tmp/connector.sock");
    private static final Address LISTENER = Address.of("/tmp/listener.sock");

    @FuzzTest
    void reportsEveryVersionTwoNoticeAsTheProtocolSays(byte[] data) throws Exception {
        FuzzInput input = new FuzzInput(data);
        input.u8();
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);
        List<String> expected = expectedEvents(stream);

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Recorder recorder = new Recorder();
        EmbeddedChannel channel = new EmbeddedChannel(false, false);
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(new NoticeDecoder(recorder, SELF, LISTENER));
        try {
            channel.register();
            ByteBuf hello = channel.readOutbound();
            ByteBuf want = ProtocolV2.encodeStreamHello(ByteBufAllocator.DEFAULT, SELF, 42, 7);
            try {
                if (hello == null || !ByteBufUtil.equals(hello, want)) {
                    throw new AssertionError("the hello is not the listener's: " + (hello == null ? "none" : ByteBufUtil.hexDump(hello)));
                }
            } finally {
                want.release();
                if (hello != null) {
                    hello.release();
                }
            }
            for (FuzzInput.Read read : reads) {
                if (recorder.failed) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, false));
            }
        } finally {
            channel.finishAndReleaseAll();
        }
        List<String> seen = new ArrayList<>(recorder.events);
        if (!seen.isEmpty() && seen.get(seen.size() - 1).equals("died") && !expected.contains("failed")) {
            seen.remove(seen.size() - 1); // the close after the stream: the peer hung up without a notice
        }
        if (!expected.equals(seen)) {
            throw new AssertionError("for notices " + ByteBufUtil.hexDump(Arrays.copyOf(stream, Math.min(stream.length, 64)))
                    + "..., expected events " + expected + ", got " + seen);
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used() + " bytes were not released");
        }
    }

    /** The events PROTOCOL.md asks for, as text. */
    private static List<String> expectedEvents(byte[] stream) {
        List<String> events = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(stream);
        while (in.remaining() >= 4) {
            if (in.getInt(in.position()) != Protocol.MAGIC) {
                events.add("failed");
                return events;
            }
            if (in.remaining() < Protocol.NOTICE_HEADER_LENGTH) {
                return events;
            }
            int version = in.get(in.position() + 4) & 0xFF;
            int code = in.get(in.position() + Protocol.NOTICE_CODE_OFFSET) & 0xFF;
            int length = in.getShort(in.position() + Protocol.NOTICE_REASON_LENGTH_OFFSET) & 0xFFFF;
            if (length > Protocol.MAX_REASON_LENGTH) {
                events.add("failed");
                return events;
            }
            if (in.remaining() < Protocol.NOTICE_HEADER_LENGTH + length) {
                return events;
            }
            int detail = in.position() + Protocol.NOTICE_HEADER_LENGTH;
            if (code == Protocol.ACCEPTED) {
                long max = length >= 4 ? Integer.toUnsignedLong(in.getInt(detail)) : Long.MAX_VALUE;
                events.add(version == 2 && length >= 20 ? "stream " + max + " " + in.getLong(detail + 4) + " " + in.getLong(detail + 12)
                        : "accepted " + max);
            } else if (code == Protocol.ACK && version == 2 && length == 8) {
                events.add("ack " + in.getLong(detail));
            } else {
                events.add("failed");
                return events;
            }
            in.position(detail + length);
        }
        return events;
    }

    /** A listener that takes ACKs, as an acknowledged stream does, and records what it is told. */
    private static final class Recorder implements NoticeDecoder.Listener {
        final List<String> events = new ArrayList<>();
        boolean failed;

        @Override
        public ByteBuf hello(ByteBufAllocator alloc, Address self) {
            return ProtocolV2.encodeStreamHello(alloc, self, 42, 7);
        }

        @Override
        public void onAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength) {
            events.add("accepted " + peerMaxFrameLength);
        }

        @Override
        public void onStreamAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength, long listenerIncarnation, long resume) {
            events.add("stream " + peerMaxFrameLength + " " + listenerIncarnation + " " + resume);
        }

        @Override
        public boolean onAck(ChannelHandlerContext ctx, long acknowledged) {
            events.add("ack " + acknowledged);
            return true;
        }

        @Override
        public void onFailure(ChannelHandlerContext ctx, TransportException cause) {
            if (!failed) {
                failed = true;
                boolean died = cause instanceof org.stagecrew.transport.PeerDiedException;
                events.add(died ? "died" : "failed");
                ctx.close();
            }
        }
    }
}
