package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.TransportClosedException;

/**
 * Fuzzes the connector's side of the hello exchange ({@link NoticeDecoder}, through the drop-in
 * {@link FrameCodec#connectorHello}, which turns what it reports into pipeline events) with an
 * arbitrary stream of notices cut into arbitrary reads (see {@link FuzzInput}), and holds it to
 * PROTOCOL.md, section 2, written out here a second time:
 * <ul>
 *   <li>the hello it sends is our address, byte for byte;
 *   <li>an {@code ACCEPTED} notice fires one {@link FrameCodec.HelloAccepted} with the stated
 *       maximum (none stated: no limit); a second one breaks the protocol;
 *   <li>an {@code ACK} notice (code 7) breaks the protocol on a connection that is no acknowledged
 *       stream ({@link ProtocolException});
 *   <li>any other non-zero code ends in one typed exception with the code and reason ({@link
 *       TransportClosedException} for {@code SHUTTING_DOWN}, else {@link PeerRejectedException}) and
 *       a closed channel; so do a magic other than "SCRW" and a detail longer than 1024 bytes
 *       ({@link ProtocolException});
 *   <li>an incomplete notice is waited for, and a close before acceptance is reported as such;
 *   <li>it holds at most one notice plus one read, and after close nothing at all.
 * </ul>
 * Input: a config byte (unused, kept for the common format), then reads.
 */
class NoticeDecoderFuzzTest {
    private static final Address SELF = Address.of("/tmp/connector.sock");
    private static final Address LISTENER = Address.of("/tmp/listener.sock");
    private static final int MAX_NOTICE = Protocol.NOTICE_HEADER_LENGTH + Protocol.MAX_REASON_LENGTH;

    @FuzzTest
    void reportsEveryNoticeAsTheProtocolSays(byte[] data) throws Exception {
        FuzzInput input = new FuzzInput(data);
        input.u8();
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);
        List<Object> expected = expectedEvents(stream);

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Events events = new Events();
        EmbeddedChannel channel = new EmbeddedChannel(false, false); // active only once the handler is in, so that it says hello
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(FrameCodec.connectorHello(SELF, LISTENER), events);
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
                    throw new AssertionError("the notice decoder holds " + held + " bytes after a read (bound " + bound + ")");
                }
            }
            boolean failedBeforeClose = expected.stream().anyMatch(e -> e instanceof Class);
            boolean openBeforeClose = channel.isActive();
            channel.finish();
            boolean accepted = expected.stream().anyMatch(e -> e instanceof FrameCodec.HelloAccepted);
            if (!failedBeforeClose && !accepted) {
                expected.add(PeerDiedException.class); // closed by the peer without a notice: it died
            }
            if (failedBeforeClose == openBeforeClose) {
                throw new AssertionError((failedBeforeClose ? "a failure left the channel open" : "the channel was closed without a failure")
                        + "; events " + events.seen);
            }
            check(expected, events.seen, stream);
        } finally {
            channel.finishAndReleaseAll();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used()
                    + " bytes of the decoder's own buffers were not released");
        }
    }

    /** The events PROTOCOL.md asks for: {@link FrameCodec.HelloAccepted}s, then at most one exception class, last. */
    private static List<Object> expectedEvents(byte[] stream) {
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
                long max = length >= 4 ? Integer.toUnsignedLong(in.getInt(detail)) : Long.MAX_VALUE;
                events.add(new FrameCodec.HelloAccepted(LISTENER, max));
            } else if (code == Protocol.ACK) {
                events.add(ProtocolException.class); // the drop-in connector is no acknowledged stream (PROTOCOL.md, version 2)
                return events;
            } else {
                events.add(code == Protocol.SHUTTING_DOWN ? TransportClosedException.class : PeerRejectedException.class);
                events.add(new String(stream, detail, length, StandardCharsets.UTF_8));
                events.add(code);
                return events;
            }
            in.position(detail + length);
        }
        return events;
    }

    private static void check(List<Object> expected, List<Object> seen, byte[] stream) {
        List<Object> actual = new ArrayList<>();
        for (Object event : seen) {
            if (event instanceof Throwable failure) {
                actual.add(failure.getClass());
                if (failure instanceof PeerRejectedException rejected) {
                    actual.add(rejected.reason());
                    actual.add(rejected.code());
                } else if (failure instanceof TransportClosedException && expected.contains(Protocol.SHUTTING_DOWN)) {
                    String reason = (String) expected.get(expected.size() - 2);
                    actual.add(failure.getMessage().contains("(" + reason + ")") ? reason : failure.getMessage());
                    actual.add(Protocol.SHUTTING_DOWN);
                }
            } else {
                actual.add(event);
            }
        }
        if (!expected.equals(actual)) {
            throw new AssertionError("for notices " + ByteBufUtil.hexDump(Arrays.copyOf(stream, Math.min(stream.length, 64)))
                    + "..., expected events " + expected + ", got " + actual);
        }
    }

    /** Our hello is the first thing written, and it is our address. */
    private static void checkHello(EmbeddedChannel channel) {
        ByteBuf hello = channel.readOutbound();
        ByteBuf expected = Protocol.encodeHello(UnpooledByteBufAllocator.DEFAULT, SELF);
        try {
            if (hello == null || !ByteBufUtil.equals(hello, expected)) {
                throw new AssertionError("the connector's hello is not our address: " + (hello == null ? "none" : ByteBufUtil.hexDump(hello)));
            }
        } finally {
            expected.release();
            if (hello != null) {
                hello.release();
            }
        }
    }

    /** Records what the connector's handler fires: acceptances and exceptions, in order. */
    private static final class Events extends ChannelInboundHandlerAdapter {
        final List<Object> seen = new ArrayList<>();

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            seen.add(event);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            seen.add(cause);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            seen.add(new AssertionError("the connector's handler passed on bytes: " + msg));
            io.netty.util.ReferenceCountUtil.release(msg);
        }
    }
}
