package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerPolicy;

/**
 * Fuzzes the listener's parser of version 2 hellos ({@link HelloHandler} with {@link AckStreams},
 * as every transport has) and its acknowledgements, with an arbitrary stream cut into arbitrary
 * reads (see {@link FuzzInput}), and holds it to PROTOCOL.md, "Version 2", written out here a
 * second time:
 * <ul>
 *   <li>versions 1 and 2 are spoken, any other gets {@code UNSUPPORTED_VERSION} (in version 1);
 *   <li>a version 2 hello has a kind byte after the address: kind 0 (STREAM) is followed by the
 *       stream incarnation and first sequence number (u64 each); kind 1 (CONTROL) is left to
 *       {@link ControlResponderFuzzTest}; any other kind gets {@code MALFORMED_HELLO} naming it; every notice on a version 2 connection carries version 2;
 *   <li>a STREAM hello is answered by {@code ACCEPTED} with 20 detail bytes: the maximum payload,
 *       the listener's incarnation, and, for a stream new to it, the first sequence number;
 *   <li>once consumed, the frames behind it are acknowledged with {@code ACK} notices (code 7,
 *       8 detail bytes, at least 1 ms apart) whose numbers grow and end at the first sequence number
 *       plus the frames consumed;
 *   <li>every buffer is released after close.
 * </ul>
 * Input: a config byte (the maximum payload, as in {@link HelloHandlerFuzzTest}), then reads.
 */
class StreamHelloFuzzTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** The verdict on a hello of kind CONTROL, which this test leaves to {@link ControlResponderFuzzTest}. */
    private static final Verdict CONTROL = new Verdict(Protocol.ACCEPTED, 2, "", 0);

    /** A notice as written: its version, code and detail. */
    private record Notice(int version, int code, byte[] detail) {
    }

    /** What the listener must answer first: a code, the notice's version, and for a STREAM its first sequence number. */
    private record Verdict(int code, int version, String reason, long firstSequence) {
    }

    @FuzzTest
    void answersEveryVersionTwoHelloAsTheProtocolSays(byte[] data) {
        FuzzInput input = new FuzzInput(data);
        int max = FrameBatchDecoderFuzzTest.MAX_FRAME_LENGTHS[input.u8() & 7];
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);
        Verdict verdict = judge(stream);
        if (verdict == CONTROL) {
            return; // kind 1 CONTROL: ControlResponderFuzzTest holds those connections to the protocol
        }

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        Discards discards = new Discards();
        AckStreams streams = new AckStreams(discards);
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(HelloHandler.forInbox(RECEIVER, inbox, null, max, TIMEOUT_NANOS,
                new Admission(null, PeerPolicy.anyone(), 10), discards, streams));
        List<Notice> notices = new ArrayList<>();
        long consumed = 0;
        try {
            for (FuzzInput.Read read : reads) {
                if (!channel.isOpen()) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, false));
                for (InboundBatch batch; (batch = inbox.poll()) != null; ) {
                    consumed += batch.frames;
                    inbox.consumed(batch);
                }
                channel.runPendingTasks();
                drain(channel, notices);
            }
            channel.advanceTimeBy(AckStream.MIN_ACK_INTERVAL_NANOS, TimeUnit.NANOSECONDS); // the last ACK may wait its turn
            channel.runScheduledPendingTasks();
            drain(channel, notices);
            check(verdict, max, streams.incarnation(), stream, notices, consumed, channel.isActive());
        } finally {
            channel.finishAndReleaseAll();
            inbox.close();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used() + " bytes were not released");
        }
    }

    private static void check(Verdict verdict, int max, long incarnation, byte[] stream, List<Notice> notices, long consumed,
            boolean open) {
        String input = ByteBufUtil.hexDump(Arrays.copyOf(stream, Math.min(stream.length, 64)));
        if (verdict == null) {
            if (!notices.isEmpty()) {
                throw new AssertionError("an incomplete hello was answered: " + input + " " + notices.get(0).code());
            }
            return;
        }
        if (notices.isEmpty()) {
            throw new AssertionError("the hello " + input + " was not answered, expected code " + verdict.code());
        }
        Notice first = notices.get(0);
        if (first.code() != verdict.code() || first.version() != verdict.version()) {
            throw new AssertionError("the hello " + input + " was answered with code " + first.code() + " version " + first.version()
                    + ", expected " + verdict + ": " + new String(first.detail(), StandardCharsets.UTF_8));
        }
        if (verdict.code() != Protocol.ACCEPTED) {
            String reason = new String(first.detail(), StandardCharsets.UTF_8);
            if (!reason.contains(verdict.reason())) {
                throw new AssertionError("the reason \"" + reason + "\" does not say \"" + verdict.reason() + "\"");
            }
            return;
        }
        ByteBuffer detail = ByteBuffer.wrap(first.detail());
        if (verdict.version() == 1) {
            if (first.detail().length != 4 || detail.getInt() != max) {
                throw new AssertionError("a version 1 ACCEPTED states 4 bytes, the maximum " + max);
            }
            return;
        }
        if (first.detail().length != 20 || detail.getInt() != max || detail.getLong() != incarnation
                || detail.getLong() != verdict.firstSequence()) {
            throw new AssertionError("a STREAM ACCEPTED states the maximum " + max + ", incarnation " + incarnation
                    + " and resume " + verdict.firstSequence() + ": " + ByteBufUtil.hexDump(first.detail()));
        }
        long last = verdict.firstSequence();
        for (Notice n : notices.subList(1, notices.size())) {
            if (n.version() != 2) {
                throw new AssertionError("a notice of version " + n.version() + " on a version 2 connection");
            }
            if (n.code() == Protocol.PROTOCOL_ERROR) {
                continue;
            }
            long value = n.code() == Protocol.ACK && n.detail().length == 8 ? ByteBuffer.wrap(n.detail()).getLong() : Long.MIN_VALUE;
            if (value <= last) {
                throw new AssertionError("after ACCEPTED only growing ACKs (or one PROTOCOL_ERROR), got code " + n.code()
                        + " value " + value + " after " + last);
            }
            last = value;
        }
        if (open && last != verdict.firstSequence() + consumed) { // a closed connection (a protocol error) carries no more ACKs
            throw new AssertionError("the last ACK says " + last + ", but " + consumed + " frames from " + verdict.firstSequence()
                    + " were consumed");
        }
    }

    /** The first notice PROTOCOL.md asks for, or null while the hello is incomplete. */
    private static Verdict judge(byte[] stream) {
        ByteBuffer in = ByteBuffer.wrap(stream);
        if (stream.length >= 4 && in.getInt(0) != Protocol.MAGIC) {
            return new Verdict(Protocol.MALFORMED_HELLO, 1, "bad magic", 0);
        }
        if (stream.length < Protocol.HELLO_HEADER_LENGTH) {
            return null;
        }
        int version = stream[4] & 0xFF;
        if (version != 1 && version != 2) {
            return new Verdict(Protocol.UNSUPPORTED_VERSION, 1, "this endpoint speaks 1 and 2", 0);
        }
        int length = in.getShort(Protocol.HELLO_ADDRESS_LENGTH_OFFSET) & 0xFFFF;
        if (length == 0 || length > Protocol.MAX_HELLO_ADDRESS_LENGTH) {
            return new Verdict(Protocol.MALFORMED_HELLO, version, "hello address length", 0);
        }
        int end = Protocol.HELLO_HEADER_LENGTH + length;
        if (stream.length < end + (version == 2 ? 1 : 0)) {
            return null;
        }
        byte[] bytes = Arrays.copyOfRange(stream, Protocol.HELLO_HEADER_LENGTH, end);
        try {
            boolean isAbstract = bytes[0] == 0;
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, isAbstract ? 1 : 0, bytes.length - (isAbstract ? 1 : 0))).toString();
            Address unused = isAbstract ? Address.abstractName(text) : Address.of(text);
        } catch (CharacterCodingException | IllegalArgumentException e) {
            return new Verdict(Protocol.MALFORMED_HELLO, version, "invalid sender address", 0);
        }
        long first = 0;
        if (version == 2) {
            int kind = stream[end] & 0xFF;
            if (kind == Protocol.KIND_CONTROL) {
                return CONTROL;
            }
            if (kind != 0) {
                return new Verdict(Protocol.MALFORMED_HELLO, 2, "hello kind " + kind + " is not known", 0);
            }
            if (stream.length < end + 17) {
                return null;
            }
            first = in.getLong(end + 9);
        }
        return new Verdict(Protocol.ACCEPTED, version, "", first);
    }

    private static void drain(EmbeddedChannel channel, List<Notice> into) {
        for (ByteBuf notice; (notice = channel.readOutbound()) != null; ) {
            try {
                int length = notice.getUnsignedShort(Protocol.NOTICE_REASON_LENGTH_OFFSET);
                if (notice.getInt(0) != Protocol.MAGIC || notice.readableBytes() != Protocol.NOTICE_HEADER_LENGTH + length) {
                    throw new AssertionError("a malformed notice was written: " + ByteBufUtil.hexDump(notice));
                }
                into.add(new Notice(notice.getUnsignedByte(4), notice.getUnsignedByte(Protocol.NOTICE_CODE_OFFSET),
                        ByteBufUtil.getBytes(notice, Protocol.NOTICE_HEADER_LENGTH, length)));
            } finally {
                notice.release();
            }
        }
    }
}
