package org.stagecrew.transport.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
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
 * Fuzzes the listener's hello ({@link HelloHandler}, as a transport sets it up: the frame decoder
 * takes over on acceptance) with an arbitrary stream cut into arbitrary reads (see {@link
 * FuzzInput}), and holds it to PROTOCOL.md, section 1, written out here a second time:
 * <ul>
 *   <li>a hello with a bad magic, another version, an address length outside 1..1024, or an
 *       address that is not a valid path or abstract name in strict UTF-8 gets exactly one notice
 *       with the right code and reason and a closed connection; nothing is delivered;
 *   <li>a valid hello gets exactly one {@code ACCEPTED} notice stating the maximum, the sender is
 *       the address whose hello encoding is byte for byte what was sent, and the bytes behind it are
 *       decoded as frames exactly as {@link WireModel} says;
 *   <li>an incomplete hello gets no answer and keeps the connection until the hello timeout, which
 *       then closes it with {@code MALFORMED_HELLO}; an accepted connection outlives the timeout;
 *   <li>the handler holds at most one hello plus one read, and after close nothing at all.
 * </ul>
 * Input: a config byte (bits 0-2: maximum frame length from {@link
 * FrameBatchDecoderFuzzTest#MAX_FRAME_LENGTHS}), then reads.
 */
class HelloHandlerFuzzTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int MAX_HELLO = Protocol.HELLO_HEADER_LENGTH + Protocol.MAX_HELLO_ADDRESS_LENGTH;

    @FuzzTest
    void answersEveryHelloWithTheRightNoticeAndPassesOnTheRest(byte[] data) {
        FuzzInput input = new FuzzInput(data);
        int max = FrameBatchDecoderFuzzTest.MAX_FRAME_LENGTHS[input.u8() & 7];
        List<FuzzInput.Read> reads = input.reads();
        byte[] stream = FuzzInput.stream(reads);
        Verdict verdict = judge(stream);

        MeteredAllocator peer = new MeteredAllocator();
        MeteredAllocator ours = new MeteredAllocator();
        Inbox inbox = new Inbox(RECEIVER, Integer.MAX_VALUE, Long.MAX_VALUE);
        Admission admission = new Admission(null, PeerPolicy.anyone(), 10);
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(ours);
        channel.pipeline().addLast(HelloHandler.forInbox(RECEIVER, inbox, null, max, TIMEOUT_NANOS, admission));
        List<ControlResponderFuzzTest.Written> written = new ArrayList<>();
        List<byte[]> frames = new ArrayList<>();
        List<Address> senders = new ArrayList<>();
        try {
            long largestRead = 0;
            for (FuzzInput.Read read : reads) {
                if (!channel.isOpen()) {
                    break;
                }
                channel.writeInbound(read.toBuffer(peer, false));
                largestRead = Math.max(largestRead, read.capacity());
                drain(inbox, frames, senders);
                ControlResponderFuzzTest.drain(channel, written);
                // Before acceptance one hello; after it, what the frame decoder may hold (its own bound, checked by its target).
                long bound = 2L * MAX_HELLO + 2L * (WireModel.HEADER + Math.min(max, FrameBatchDecoder.ASSEMBLE_THRESHOLD)) + 2 * largestRead;
                long held = peer.used() + ours.used();
                if (held > bound) {
                    throw new AssertionError("the hello handler holds " + held + " bytes after a read (bound " + bound + ")");
                }
            }
            boolean openBeforeTimeout = channel.isActive();
            int answeredBeforeTimeout = written.size();
            channel.advanceTimeBy(TIMEOUT_NANOS + 1, TimeUnit.NANOSECONDS);
            channel.runScheduledPendingTasks();
            ControlResponderFuzzTest.drain(channel, written);
            List<FrameBatchDecoderFuzzTest.Notice> notices = notices(verdict, written, stream);
            if (verdict.version() == Protocol.VERSION_2 && verdict.code() == Protocol.ACCEPTED) {
                checkControl(verdict, stream, written, channel.isActive(), admission);
                return;
            }
            check(verdict, max, stream, notices, frames, senders, openBeforeTimeout, answeredBeforeTimeout, channel.isActive(), admission);
        } finally {
            channel.finishAndReleaseAll();
            drain(inbox, frames, senders);
            inbox.close();
        }
        if (peer.used() != 0 || ours.used() != 0) {
            throw new AssertionError("after close, " + peer.used() + " bytes of reads and " + ours.used()
                    + " bytes of the handler's own buffers were not released");
        }
    }

    /** What PROTOCOL.md says a listener answers: a notice code and a part of its reason, or none yet (-1). */
    private record Verdict(int code, String reason, Address sender, int helloLength, int version) {
        Verdict(int code, String reason, Address sender, int helloLength) {
            this(code, reason, sender, helloLength, Protocol.VERSION);
        }
    }

    /**
     * The notices written, each checked for its version byte: version 2 after a version 2 hello that
     * was read up to its address length, else version 1.
     */
    private static List<FrameBatchDecoderFuzzTest.Notice> notices(Verdict verdict, List<ControlResponderFuzzTest.Written> written,
            byte[] stream) {
        List<FrameBatchDecoderFuzzTest.Notice> notices = new ArrayList<>();
        for (ControlResponderFuzzTest.Written w : written) {
            if (w.version() != verdict.version()) {
                throw new AssertionError("notice " + w + " should say version " + verdict.version() + " for a hello starting "
                        + ByteBufUtil.hexDump(Arrays.copyOf(stream, Math.min(stream.length, 16))));
            }
            notices.add(new FrameBatchDecoderFuzzTest.Notice(w.code(), new String(w.detail(), StandardCharsets.UTF_8)));
        }
        return notices;
    }

    /** A version 2 CONTROL hello: it re-encodes to the bytes sent, and the rest is answered as {@link ControlResponderFuzzTest} says. */
    private static void checkControl(Verdict verdict, byte[] stream, List<ControlResponderFuzzTest.Written> written, boolean open,
            Admission admission) {
        ByteBuf encoded = Protocol.encodeControlHello(UnpooledByteBufAllocator.DEFAULT, verdict.sender());
        try {
            if (!Arrays.equals(Arrays.copyOf(stream, verdict.helloLength()), ByteBufUtil.getBytes(encoded))) {
                throw new AssertionError("the CONTROL hello does not re-encode to the bytes sent for " + verdict.sender());
            }
        } finally {
            encoded.release();
        }
        byte[] rest = Arrays.copyOfRange(stream, verdict.helloLength(), stream.length);
        ControlResponderFuzzTest.check(ControlResponderFuzzTest.expected(rest), written, open, stream);
        if (admission.stats().connectionsAccepted() != 1 || admission.stats().connectionsRejected() != 0) {
            throw new AssertionError("a CONTROL connection was not counted as one accepted: " + admission.stats());
        }
    }

    private static Verdict judge(byte[] stream) {
        ByteBuffer in = ByteBuffer.wrap(stream);
        if (stream.length >= 4 && in.getInt(0) != Protocol.MAGIC) {
            return new Verdict(Protocol.MALFORMED_HELLO, String.format("bad magic 0x%08x", in.getInt(0)), null, 0);
        }
        if (stream.length < Protocol.HELLO_HEADER_LENGTH) {
            return incomplete();
        }
        int version = stream[4] & 0xFF;
        if (version != Protocol.VERSION && version != Protocol.VERSION_2) {
            return new Verdict(Protocol.UNSUPPORTED_VERSION, "protocol version " + version + " is not supported", null, 0);
        }
        int length = in.getShort(Protocol.HELLO_ADDRESS_LENGTH_OFFSET) & 0xFFFF;
        if (length == 0 || length > Protocol.MAX_HELLO_ADDRESS_LENGTH) {
            return new Verdict(Protocol.MALFORMED_HELLO, "hello address length " + length + " is outside 1..1024", null, 0, version);
        }
        int helloLength = Protocol.HELLO_HEADER_LENGTH + length + (version == Protocol.VERSION_2 ? Protocol.HELLO_KIND_LENGTH : 0);
        if (stream.length < helloLength) {
            return incomplete();
        }
        byte[] bytes = Arrays.copyOfRange(stream, Protocol.HELLO_HEADER_LENGTH, Protocol.HELLO_HEADER_LENGTH + length);
        Address sender;
        try {
            boolean isAbstract = bytes[0] == 0;
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, isAbstract ? 1 : 0, bytes.length - (isAbstract ? 1 : 0))).toString();
            sender = isAbstract ? Address.abstractName(text) : Address.of(text);
        } catch (CharacterCodingException | IllegalArgumentException e) {
            return new Verdict(Protocol.MALFORMED_HELLO, "invalid sender address", null, 0, version);
        }
        if (version == Protocol.VERSION_2) {
            int kind = stream[helloLength - 1] & 0xFF;
            switch (kind) {
                case Protocol.KIND_CONTROL:
                    return new Verdict(Protocol.ACCEPTED, "", sender, helloLength, version);
                case ProtocolV2.KIND_STREAM: // this handler has no acknowledged streams (StreamHelloFuzzTest has)
                    return new Verdict(Protocol.UNSUPPORTED_VERSION, "hello kind 0 (STREAM, acknowledged delivery) is not served",
                            null, 0, version);
                default:
                    return new Verdict(Protocol.MALFORMED_HELLO, "hello kind " + kind + " is not known", null, 0, version);
            }
        }
        return new Verdict(Protocol.ACCEPTED, "", sender, helloLength);
    }

    private static Verdict incomplete() {
        return new Verdict(-1, "", null, 0);
    }

    private static void check(Verdict verdict, int max, byte[] stream, List<FrameBatchDecoderFuzzTest.Notice> notices,
            List<byte[]> frames, List<Address> senders, boolean openBeforeTimeout, int answeredBeforeTimeout, boolean openAfterTimeout,
            Admission admission) {
        if (verdict.code() < 0) {
            if (!openBeforeTimeout || answeredBeforeTimeout > 0) {
                throw new AssertionError("an incomplete hello was answered or cut off before the timeout: " + notices);
            }
            expectOnly(notices, Protocol.MALFORMED_HELLO, "no complete hello within 5000 ms");
            if (openAfterTimeout) {
                throw new AssertionError("the hello timeout did not close the connection");
            }
        } else if (verdict.code() != Protocol.ACCEPTED) {
            expectOnly(notices, verdict.code(), verdict.reason());
            if (openBeforeTimeout) {
                throw new AssertionError("a rejected hello left the connection open");
            }
        } else {
            if (notices.isEmpty() || notices.get(0).code() != Protocol.ACCEPTED) {
                throw new AssertionError("a valid hello from " + verdict.sender() + " was answered " + notices);
            }
            byte[] sent = Arrays.copyOf(stream, verdict.helloLength());
            ByteBuf encoded = Protocol.encodeHello(UnpooledByteBufAllocator.DEFAULT, verdict.sender());
            try {
                if (!Arrays.equals(sent, ByteBufUtil.getBytes(encoded))) {
                    throw new AssertionError("the hello does not re-encode to the bytes sent for " + verdict.sender());
                }
            } finally {
                encoded.release();
            }
            byte[] rest = Arrays.copyOfRange(stream, verdict.helloLength(), stream.length);
            WireModel.Frames expected = WireModel.frames(rest, rest.length, max);
            WireModel.assertSameFrames(expected.frames(), frames, "frames behind the hello");
            for (Address sender : senders) {
                if (!sender.equals(verdict.sender())) {
                    throw new AssertionError("a frame from " + verdict.sender() + " was attributed to " + sender);
                }
            }
            List<FrameBatchDecoderFuzzTest.Notice> after = notices.subList(1, notices.size());
            if (expected.isBroken()) {
                FrameBatchDecoderFuzzTest.assertOneProtocolError(after,
                        "frame length " + expected.badLength() + " exceeds maxFrameLength " + max);
            } else if (!after.isEmpty() || !openAfterTimeout) {
                throw new AssertionError("an accepted connection within the protocol got " + after + " or was closed");
            }
        }
        long answered = admission.stats().connectionsAccepted() + admission.stats().connectionsRejected();
        if (answered != 1) {
            throw new AssertionError("connections accepted plus rejected: " + answered + ", expected 1");
        }
    }

    private static void expectOnly(List<FrameBatchDecoderFuzzTest.Notice> notices, int code, String reason) {
        if (notices.size() != 1 || notices.get(0).code() != code || !notices.get(0).reason().contains(reason)) {
            throw new AssertionError("expected one notice " + Protocol.codeName(code) + " saying \"" + reason + "\", got " + notices);
        }
    }

    private static void drain(Inbox inbox, List<byte[]> frames, List<Address> senders) {
        for (InboundBatch batch; (batch = inbox.poll()) != null; ) {
            ByteBuf buf = batch.buffer;
            int cursor = buf.readerIndex();
            for (int i = 0; i < batch.frames; i++) {
                int length = buf.getInt(cursor);
                frames.add(ByteBufUtil.getBytes(buf, cursor + WireModel.HEADER, length));
                senders.add(batch.sender);
                cursor += WireModel.HEADER + length;
            }
            inbox.consumed(batch);
        }
    }
}
