package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerPolicy;

/**
 * Fuzzes the listener's side of a CONTROL connection ({@link HelloHandler} with a valid version 2
 * CONTROL hello, then {@link ControlResponder}) with an arbitrary stream behind the hello, cut into
 * arbitrary reads (see {@link FuzzInput}), and holds it to PROTOCOL.md written out a second time:
 * <ul>
 *   <li>one {@code ACCEPTED} notice (version 2, detail u32 8);
 *   <li>every whole frame of length 8 gets one {@code PONG} (version 2) whose detail is its 8 bytes,
 *       in order; an incomplete frame is waited for;
 *   <li>the first length other than 8 gets one {@code PROTOCOL_ERROR} naming it, after the PONGs
 *       of the frames before it, and the connection is closed; nothing else is ever written;
 *   <li>nothing reaches the inbox; the handlers hold at most one hello plus one read, and after
 *       close nothing at all.
 * </ul>
 * Input: a config byte (unused, kept for the common format), then reads.
 */
class ControlResponderFuzzTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/stagecrew-control-1");
    private static final int FRAME = Protocol.LENGTH_FIELD_LENGTH + Protocol.PING_LENGTH;

    /** A notice as written: version, code and detail bytes. */
    record Written(int version, int code, byte[] detail) {
        @Override
        public String toString() {
            return Protocol.codeName(code) + "(v" + version + ", " + (code == Protocol.PONG ? ByteBufUtil.hexDump(detail)
                    : new String(detail, StandardCharsets.UTF_8)) + ")";
        }
    }

    @FuzzTest
    void answersEveryPingAndStopsAtTheFirstOtherFrame(byte[] data) {
        FuzzInput input = new FuzzInput(data);
        input.u8();
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        Admission admission = new Admission(null, PeerPolicy.anyone(), 10);
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(HelloHandler.forInbox(RECEIVER, inbox, null, 1024, TimeUnit.SECONDS.toNanos(5), admission));
        List<Written> written = new ArrayList<>();
        try {
            ByteBuf hello = Protocol.encodeControlHello(peer, SENDER);
            int helloLength = hello.readableBytes();
            channel.writeInbound(hello);
            drain(channel, written);
            long largestRead = helloLength;
            for (FuzzInput.Read read : reads) {
                if (!channel.isOpen()) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, false));
                largestRead = Math.max(largestRead, read.capacity());
                drain(channel, written);
                long bound = 2L * (Protocol.HELLO_HEADER_LENGTH + Protocol.MAX_HELLO_ADDRESS_LENGTH + 1) + 2 * largestRead;
                long held = peer.used() + ours.used();
                if (held > bound) {
                    throw new AssertionError("the control responder holds " + held + " bytes after a read (bound " + bound + ")");
                }
            }
            if (inbox.poll() != null) {
                throw new AssertionError("a control frame reached the inbox");
            }
            Answers expected = expected(stream);
            check(expected, written, channel.isActive(), stream);
        } finally {
            channel.finishAndReleaseAll();
            inbox.close();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used()
                    + " bytes of the handlers' own buffers were not released");
        }
    }

    /** What PROTOCOL.md says the listener answers to {@code stream} behind an accepted CONTROL hello. */
    record Answers(List<byte[]> pongs, long badLength) {
        boolean isBroken() {
            return badLength >= 0;
        }
    }

    static Answers expected(byte[] stream) {
        List<byte[]> pongs = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(stream);
        while (in.remaining() >= Protocol.LENGTH_FIELD_LENGTH) {
            long length = Integer.toUnsignedLong(in.getInt(in.position()));
            if (length != Protocol.PING_LENGTH) {
                return new Answers(pongs, length);
            }
            if (in.remaining() < FRAME) {
                break;
            }
            pongs.add(Arrays.copyOfRange(stream, in.position() + Protocol.LENGTH_FIELD_LENGTH, in.position() + FRAME));
            in.position(in.position() + FRAME);
        }
        return new Answers(pongs, -1);
    }

    /** Checks {@code written} (ACCEPTED first, then the answers) against {@code expected}. */
    static void check(Answers expected, List<Written> written, boolean open, byte[] stream) {
        String context = " for a stream starting " + ByteBufUtil.hexDump(Arrays.copyOf(stream, Math.min(stream.length, 48)));
        for (Written w : written) {
            if (w.version() != Protocol.VERSION_2) {
                throw new AssertionError("a notice on a version 2 connection says version " + w.version() + ": " + w + context);
            }
        }
        if (written.isEmpty() || written.get(0).code() != Protocol.ACCEPTED
                || !Arrays.equals(written.get(0).detail(), new byte[] {0, 0, 0, Protocol.PING_LENGTH})) {
            throw new AssertionError("the CONTROL hello was not accepted with detail u32 8: " + written + context);
        }
        int expectedCount = 1 + expected.pongs().size() + (expected.isBroken() ? 1 : 0);
        if (written.size() != expectedCount) {
            throw new AssertionError("expected " + expectedCount + " notices, got " + written + context);
        }
        for (int i = 0; i < expected.pongs().size(); i++) {
            Written pong = written.get(1 + i);
            if (pong.code() != Protocol.PONG || !Arrays.equals(pong.detail(), expected.pongs().get(i))) {
                throw new AssertionError("PONG " + i + " should carry " + ByteBufUtil.hexDump(expected.pongs().get(i)) + ", got "
                        + pong + context);
            }
        }
        if (expected.isBroken()) {
            Written last = written.get(written.size() - 1);
            String reason = new String(last.detail(), StandardCharsets.UTF_8);
            if (last.code() != Protocol.PROTOCOL_ERROR || !reason.contains("a control frame of " + expected.badLength() + " bytes")) {
                throw new AssertionError("expected a PROTOCOL_ERROR naming length " + expected.badLength() + ", got " + last + context);
            }
            if (open) {
                throw new AssertionError("the connection stayed open after a PROTOCOL_ERROR" + context);
            }
        } else if (!open) {
            throw new AssertionError("a connection within the protocol was closed" + context);
        }
    }

    /** Reads (and releases) every notice written so far, failing on one that breaks the notice layout. */
    static void drain(EmbeddedChannel channel, List<Written> into) {
        for (ByteBuf notice; (notice = channel.readOutbound()) != null; ) {
            try {
                int length = notice.getUnsignedShort(Protocol.NOTICE_REASON_LENGTH_OFFSET);
                if (notice.getInt(0) != Protocol.MAGIC || notice.readableBytes() != Protocol.NOTICE_HEADER_LENGTH + length
                        || length > Protocol.MAX_REASON_LENGTH) {
                    throw new AssertionError("a malformed notice was written: " + ByteBufUtil.hexDump(notice));
                }
                into.add(new Written(notice.getUnsignedByte(4), notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET),
                        ByteBufUtil.getBytes(notice, Protocol.NOTICE_HEADER_LENGTH, length)));
            } finally {
                notice.release();
            }
        }
    }
}
