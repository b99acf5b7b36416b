package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.stagecrew.transport.Address;

/**
 * Wire protocol version 2: what it adds to {@link Protocol} (which keeps the magic, the notice
 * header and the data frames). PROTOCOL.md, section "Version 2", is the prose form. Big-endian.
 *
 * <pre>
 * Hello, version 2 (connector to listener)
 *  0               4       5               7                   7+N      8+N
 * +---------------+-------+---------------+-------------------+--------+----------------------+
 * | magic "SCRW"  | ver=2 | address len N | sender address    | kind   | kind-specific fields |
 * +---------------+-------+---------------+-------------------+--------+----------------------+
 * kind 0 STREAM (acknowledged delivery), 16 bytes after the kind:
 *   8+N: stream incarnation, u64 (chosen by the connector; a new one for each new stream)
 *  16+N: first sequence number, u64 (the number of the oldest frame the connector still holds)
 *
 * ACCEPTED on a STREAM connection: notice version 2, code 0, detail M = 20:
 *   0: maximum payload length, u32
 *   4: listener incarnation, u64 (a new one each time the listener's transport opens)
 *  12: resume sequence number, u64 (the number of the first frame the connector must write now)
 *
 * ACK (code 7, after ACCEPTED, any number of them): notice version 2, detail M = 8:
 *   0: acknowledged sequence number, u64: every frame numbered below it was handed to the application
 * </pre>
 *
 * <p>Frames are numbered implicitly: the frames written on a STREAM connection carry the numbers
 * resume, resume + 1, and so on, in order; data frames themselves are unchanged.
 */
final class ProtocolV2 {
    static final int VERSION = Protocol.VERSION_2;

    /** Kinds of a version 2 connection: the byte after the sender address. */
    static final int KIND_STREAM = 0;

    static final int STREAM_FIELDS_LENGTH = 16;
    static final int STREAM_ACCEPT_DETAIL_LENGTH = 20;
    static final int ACK_DETAIL_LENGTH = 8;
    static final int ACK_NOTICE_LENGTH = Protocol.NOTICE_HEADER_LENGTH + ACK_DETAIL_LENGTH;

    private ProtocolV2() {
    }

    static String kindName(int kind) {
        switch (kind) {
            case KIND_STREAM: return "STREAM";
            default: return "UNKNOWN(" + kind + ")";
        }
    }

    /** A version 2 STREAM hello. */
    static ByteBuf encodeStreamHello(ByteBufAllocator alloc, Address sender, long streamIncarnation, long firstSequence) {
        byte[] address = sender.path().getBytes(StandardCharsets.UTF_8);
        int length = address.length + (sender.isAbstract() ? 1 : 0);
        ByteBuf buf = alloc.directBuffer(Protocol.HELLO_HEADER_LENGTH + length + 1 + STREAM_FIELDS_LENGTH);
        buf.writeInt(Protocol.MAGIC).writeByte(VERSION).writeShort(length);
        if (sender.isAbstract()) {
            buf.writeByte(0);
        }
        return buf.writeBytes(address).writeByte(KIND_STREAM).writeLong(streamIncarnation).writeLong(firstSequence);
    }

    /** The ACCEPTED notice of a STREAM connection. */
    static ByteBuf encodeStreamAccept(ByteBufAllocator alloc, int maxFrameLength, long listenerIncarnation, long resume) {
        ByteBuf buf = alloc.directBuffer(Protocol.NOTICE_HEADER_LENGTH + STREAM_ACCEPT_DETAIL_LENGTH);
        return buf.writeInt(Protocol.MAGIC).writeByte(VERSION).writeByte(Protocol.ACCEPTED).writeShort(STREAM_ACCEPT_DETAIL_LENGTH)
                .writeInt(maxFrameLength).writeLong(listenerIncarnation).writeLong(resume);
    }

    /** An ACK notice: every frame numbered below {@code acknowledged} was handed to the application. */
    static ByteBuf encodeAck(ByteBufAllocator alloc, long acknowledged) {
        ByteBuf buf = alloc.directBuffer(ACK_NOTICE_LENGTH);
        return buf.writeInt(Protocol.MAGIC).writeByte(VERSION).writeByte(Protocol.ACK).writeShort(ACK_DETAIL_LENGTH)
                .writeLong(acknowledged);
    }
}
