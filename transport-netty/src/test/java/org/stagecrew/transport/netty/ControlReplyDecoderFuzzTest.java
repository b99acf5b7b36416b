package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

/**
 * Fuzzes the connector's side of a CONTROL connection ({@link ControlReplyDecoder}) with an
 * arbitrary stream of notices cut into arbitrary reads (see {@link FuzzInput}), and holds it to
 * PROTOCOL.md written out a second time:
 * <ul>
 *   <li>the hello it sends is the version 2 CONTROL hello of our name, byte for byte;
 *   <li>one {@code ACCEPTED}, then any number of {@code PONG}s of 8 bytes, each reported with its
 *       nonce; a second {@code ACCEPTED}, a {@code PONG} before acceptance or of another length, a
 *       magic other than "SCRW" or a detail above 1024 bytes is a {@link ProtocolException};
 *   <li>any other code is the last word: {@link TransportClosedException} for {@code
 *       SHUTTING_DOWN}, else {@link PeerRejectedException} with its code and reason, whatever the
 *       notice's version byte;
 *   <li>a close without a last word is a {@link PeerDiedException}; the end is reported exactly
 *       once and closes the channel; the decoder holds at most one notice plus one read, and after
 *       close nothing at all.
 * </ul>
 * Input: a config byte (unused, kept for the common format), then reads.
 */
class ControlReplyDecoderFuzzTest {
    private static final Address SELF = Address.of("/stagecrew-control-1");
    private static final Address PEER = Address.of("/tmp/listener.sock");
    private static final int MAX_NOTICE = Protocol.NOTICE_HEADER_LENGTH + Protocol.MAX_REASON_LENGTH;
    private static final String ACCEPTED = "accepted";

    @FuzzTest
    void reportsAcceptancePongsAndOneEndAsTheProtocolSays(byte[] data) throws Exception {
        FuzzInput input = new FuzzInput(data);
        input.u8();
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);
        List<Object> expected = expected(stream);

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Recorder recorder = new Recorder();
        EmbeddedChannel channel = new EmbeddedChannel(false, false);
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(new ControlReplyDecoder(recorder, SELF, PEER));
        try {
            channel.register();
            checkHello(channel);
            long largestRead = 0;
            for (FuzzInput.Read read : reads) {
                if (!channel.isOpen()) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, false));
                largestRead = Math.max(largestRead, read.capacity());
                long bound = 2L * MAX_NOTICE + 2 * largestRead;
                long held = peer.used() + ours.used();
                if (held > bound) {
                    throw new AssertionError("the control reply decoder holds " + held + " bytes after a read (bound " + bound + ")");
                }
            }
            boolean endedBeforeClose = expected.stream().anyMatch(e -> e instanceof Class);
            if (endedBeforeClose == channel.isActive()) {
                throw new AssertionError((endedBeforeClose ? "an end left the channel open" : "the channel closed without an end")
                        + "; events " + recorder.seen);
            }
            channel.finish();
            if (!endedBeforeClose) {
                expected.add(PeerDiedException.class);
            }
            if (!expected.equals(recorder.seen)) {
                throw new AssertionError("for notices " + ByteBufUtil.hexDump(Arrays.copyOf(stream, Math.min(stream.length, 64)))
                        + "..., expected " + expected + ", got " + recorder.seen);
            }
        } finally {
            channel.finishAndReleaseAll();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used()
                    + " bytes of the decoder's own buffers were not released");
        }
    }

    /** The reports PROTOCOL.md asks for: "accepted", nonces, then at most one end (its class, and for a rejection code and reason). */
    private static List<Object> expected(byte[] stream) {
        List<Object> events = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(stream);
        boolean accepted = false;
        while (in.remaining() >= 4) {
            if (in.getInt(in.position()) != Protocol.MAGIC) {
                events.add(ProtocolException.class);
                return events;
            }
            if (in.remaining() < Protocol.NOTICE_HEADER_LENGTH) {
                return events;
            }
            int code = in.get(in.position() + Protocol.NOTICE_CODE_OFFSET) & 0xFF;
            int length = in.getShort(in.position() + Protocol.NOTICE_REASON_LENGTH_OFFSET) & 0xFFFF;
            if (length > Protocol.MAX_REASON_LENGTH) {
                events.add(ProtocolException.class);
                return events;
            }
            if (in.remaining() < Protocol.NOTICE_HEADER_LENGTH + length) {
                return events;
            }
            int detail = in.position() + Protocol.NOTICE_HEADER_LENGTH;
            if (code == Protocol.ACCEPTED) {
                if (accepted) {
                    events.add(ProtocolException.class);
                    return events;
                }
                accepted = true;
                events.add(ACCEPTED);
            } else if (code == Protocol.PONG) {
                if (!accepted || length != Protocol.PING_LENGTH) {
                    events.add(ProtocolException.class);
                    return events;
                }
                events.add(in.getLong(detail));
            } else {
                if (code == Protocol.SHUTTING_DOWN) {
                    events.add(TransportClosedException.class);
                } else {
                    events.add(PeerRejectedException.class);
                    events.add(code);
                    events.add(new String(stream, detail, length, StandardCharsets.UTF_8));
                }
                return events;
            }
            in.position(detail + length);
        }
        return events;
    }

    private static void checkHello(EmbeddedChannel channel) {
        ByteBuf hello = channel.readOutbound();
        ByteBuf expected = Protocol.encodeControlHello(UnpooledByteBufAllocator.DEFAULT, SELF);
        try {
            if (hello == null || !ByteBufUtil.equals(hello, expected)) {
                throw new AssertionError("the connector's hello is not the CONTROL hello of our name: "
                        + (hello == null ? "none" : ByteBufUtil.hexDump(hello)));
            }
        } finally {
            expected.release();
            if (hello != null) {
                hello.release();
            }
        }
    }

    /** Records what the decoder reports, in the form of {@link #expected}. */
    private static final class Recorder implements ControlReplyDecoder.Listener {
        final List<Object> seen = new ArrayList<>();

        @Override
        public void onAccepted() {
            seen.add(ACCEPTED);
        }

        @Override
        public void onPong(long nonce) {
            seen.add(nonce);
        }

        @Override
        public void onEnd(TransportException cause) {
            seen.add(cause.getClass());
            if (cause instanceof PeerRejectedException rejected) {
                seen.add(rejected.code());
                seen.add(rejected.reason());
            }
        }
    }
}
