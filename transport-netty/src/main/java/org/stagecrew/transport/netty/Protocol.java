package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.internal.PlatformDependent;
import java.util.concurrent.TimeUnit;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.stagecrew.transport.Address;

/**
 * Wire protocol version 1: the one place that knows the byte layout. PROTOCOL.md at the top of the
 * repository is the prose form of this class. Every integer is big-endian (network order).
 *
 * <p>A connection carries frames one way, from the connecting unit to the listening unit. It opens
 * with a hello from the connector, answered by one notice from the listener:
 *
 * <pre>
 * Hello (connector to listener)
 *  0               4       5               7
 * +---------------+-------+---------------+---------------------------+
 * | magic "SCRW"  | ver=1 | address len N | sender address, N bytes   |
 * | 53 43 52 57   | u8    | u16           | UTF-8, 1 &lt;= N &lt;= 1024     |
 * (an address that starts with a NUL byte is a Linux abstract-namespace name, as in sun_path)
 * +---------------+-------+---------------+---------------------------+
 *
 * Notice (listener to connector): the answer to the hello, and optionally one last word before the
 * listener closes an accepted connection
 *  0               4       5       6               8
 * +---------------+-------+-------+---------------+-------------------+
 * | magic "SCRW"  | ver=1 | code  | detail len M  | detail, M bytes   |
 * |               | u8    | u8    | u16           | M &lt;= 1024         |
 * +---------------+-------+-------+---------------+-------------------+
 * detail of ACCEPTED (code 0): M = 4, the listener's maximum payload length as u32
 * detail of every other code: a UTF-8 reason; the listener then closes the connection
 *
 * Data frame (connector to listener, after an ACCEPTED notice), repeated
 *  0                               4
 * +-------------------------------+-----------------------------------+
 * | payload length L, u32         | payload, L bytes (L may be 0)     |
 * +-------------------------------+-----------------------------------+
 * </pre>
 *
 * <p>A connector may send data frames right after its hello without waiting for the answer; this
 * implementation waits, so that a rejection fails its pending sends with the listener's reason.
 */
final class Protocol {

    /** "SCRW" in ASCII. */
    static final int MAGIC = 0x53435257;
    static final int VERSION = 1;

    static final int HELLO_HEADER_LENGTH = 7;
    static final int HELLO_ADDRESS_LENGTH_OFFSET = 5;
    static final int MAX_HELLO_ADDRESS_LENGTH = 1024;

    static final int NOTICE_HEADER_LENGTH = 8;
    static final int NOTICE_CODE_OFFSET = 5;
    static final int NOTICE_REASON_LENGTH_OFFSET = 6;
    static final int MAX_REASON_LENGTH = 1024;
    static final int ACCEPT_DETAIL_LENGTH = 4;

    static final int LENGTH_FIELD_LENGTH = 4;

    /**
     * Whether {@link #lengthAt} may read memory by address. Netty reads raw memory through
     * {@code sun.misc.Unsafe} only; where Unsafe is off (Netty turns it off on Java 25 and later, and
     * {@code -Dio.netty.noUnsafe=true} does anywhere) a buffer may still report a memory address,
     * but {@code PlatformDependent.getInt(long)} has nothing to read it with.
     */
    private static final boolean READ_BY_ADDRESS = PlatformDependent.hasUnsafe();

    /**
     * The memory address of a buffer's index 0 for {@link #lengthAt}, or 0 where it has none or
     * memory cannot be read by address on this JVM; 0 makes {@link #lengthAt} use the buffer's own
     * accessors.
     */
    static long addressOf(ByteBuf buffer) {
        return READ_BY_ADDRESS && buffer.hasMemoryAddress() ? buffer.memoryAddress() : 0;
    }

    /**
     * The unsigned big-endian length field at {@code index}, which the caller has checked lies
     * within {@code buffer}. Read straight from memory when {@code address} (from {@link
     * #addressOf}) is not 0: the decode loops read one per frame, and the buffer's own checks
     * cost more than the read.
     */
    static long lengthAt(ByteBuf buffer, long address, int index) {
        if (address == 0) {
            return buffer.getUnsignedInt(index);
        }
        int value = PlatformDependent.getInt(address + index);
        return (PlatformDependent.BIG_ENDIAN_NATIVE_ORDER ? value : Integer.reverseBytes(value)) & 0xFFFF_FFFFL;
    }

    /** How long a connection we refused stays half-open so that the peer reads our notice. */
    static final long LINGER_MILLIS = 2_000;

    /** Notice codes. 0 accepts; every other code is followed by the listener closing the connection. */
    static final int ACCEPTED = 0;
    static final int UNSUPPORTED_VERSION = 1;
    static final int NOT_ALLOWED = 2;
    static final int TOO_MANY_CONNECTIONS = 3;
    static final int MALFORMED_HELLO = 4;
    static final int PROTOCOL_ERROR = 5;
    static final int SHUTTING_DOWN = 6;
    /** Version 2 only: after ACCEPTED, a cumulative acknowledgement of a STREAM connection; see {@link ProtocolV2}. */
    static final int ACK = 7;

    private Protocol() {
    }

    static ByteBuf encodeHello(ByteBufAllocator alloc, Address sender) {
        byte[] address = sender.path().getBytes(StandardCharsets.UTF_8);
        int length = address.length + (sender.isAbstract() ? 1 : 0);
        ByteBuf buf = alloc.directBuffer(HELLO_HEADER_LENGTH + length);
        buf.writeInt(MAGIC).writeByte(VERSION).writeShort(length);
        if (sender.isAbstract()) {
            buf.writeByte(0); // as in sun_path: a leading NUL marks an abstract name
        }
        return buf.writeBytes(address);
    }

    /**
     * Reads the sender address of a hello.
     *
     * @throws IllegalArgumentException if it is not strict UTF-8 (a lenient decoder would turn it
     *     into another address, which our replies would then go to), or not a valid path or abstract name
     */
    static Address decodeAddress(ByteBuf buf, int index, int length) {
        boolean isAbstract = length > 0 && buf.getByte(index) == 0;
        int start = isAbstract ? index + 1 : index;
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(buf.nioBuffer(start, index + length - start)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the address is not valid UTF-8 (" + e + ")", e);
        }
        return isAbstract ? Address.abstractName(text) : Address.of(text);
    }

    static ByteBuf encodeAccept(ByteBufAllocator alloc, int maxFrameLength) {
        ByteBuf buf = alloc.directBuffer(NOTICE_HEADER_LENGTH + ACCEPT_DETAIL_LENGTH);
        buf.writeInt(MAGIC).writeByte(VERSION).writeByte(ACCEPTED).writeShort(ACCEPT_DETAIL_LENGTH).writeInt(maxFrameLength);
        return buf;
    }

    static ByteBuf encodeNotice(ByteBufAllocator alloc, int code, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_REASON_LENGTH);
        ByteBuf buf = alloc.directBuffer(NOTICE_HEADER_LENGTH + length);
        buf.writeInt(MAGIC).writeByte(VERSION).writeByte(code).writeShort(length).writeBytes(text, 0, length);
        return buf;
    }

    /**
     * Sends a refusing or closing notice, then closes without losing it: the output is shut down
     * first and the connection closed after {@link #LINGER_MILLIS}, or when the peer closes. Closing
     * at once while the peer's bytes sit unread makes the kernel reset the connection, and the peer
     * may then never read the notice. The caller discards what still arrives.
     */
    static void sendNoticeAndClose(ChannelHandlerContext ctx, int code, String reason) {
        sendNoticeAndClose(ctx, code, reason, VERSION);
    }

    /** As {@link #sendNoticeAndClose(ChannelHandlerContext, int, String)}, with {@code version} in the notice. */
    static void sendNoticeAndClose(ChannelHandlerContext ctx, int code, String reason, int version) {
        Channel channel = ctx.channel();
        ByteBuf notice = encodeNotice(ctx.alloc(), code, reason);
        notice.setByte(4, version);
        ctx.writeAndFlush(notice).addListener(written -> {
            if (written.isSuccess() && channel instanceof DuplexChannel && channel.isActive()) {
                ((DuplexChannel) channel).shutdownOutput();
                channel.eventLoop().schedule(() -> channel.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
            } else {
                channel.close();
            }
        });
    }

    static String codeName(int code) {
        switch (code) {
            case ACCEPTED: return "ACCEPTED";
            case UNSUPPORTED_VERSION: return "UNSUPPORTED_VERSION";
            case NOT_ALLOWED: return "NOT_ALLOWED";
            case TOO_MANY_CONNECTIONS: return "TOO_MANY_CONNECTIONS";
            case MALFORMED_HELLO: return "MALFORMED_HELLO";
            case PROTOCOL_ERROR: return "PROTOCOL_ERROR";
            case SHUTTING_DOWN: return "SHUTTING_DOWN";
            case ACK: return "ACK";
            default: return "UNKNOWN(" + code + ")";
        }
    }
}
