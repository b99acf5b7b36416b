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
    /** Answers one PING on a CONTROL connection; the detail is the ping's 8 bytes. Version 2 only. */
    static final int PONG = 8;

    /**
     * Version 2 of the hello: as version 1, then one kind byte and the kind's fields.
     * <pre>
     *  0               4       5               7                     7+N
     * +---------------+-------+---------------+---------------------+------+--------------------+
     * | magic "SCRW"  | ver=2 | address len N | sender address      | kind | kind's fields      |
     * +---------------+-------+---------------+---------------------+------+--------------------+
     * kind 1 CONTROL: no fields. After ACCEPTED (version 2, detail: u32 8, the one frame length taken)
     * the connector sends PINGs as data frames of 8 bytes (u32 length 8, then a u64 nonce), and the
     * listener's transport answers each with a PONG notice (version 2, code 8, detail: the 8 bytes).
     * Nothing of it reaches the application. Any other frame length is a PROTOCOL_ERROR.
     * </pre>
     */
    static final int VERSION_2 = 2;
    static final int HELLO_KIND_LENGTH = 1;
    static final int KIND_CONTROL = 1;
    static final int PING_LENGTH = 8;

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

    /** A version 2 hello of kind CONTROL from {@code sender} (which names the connector; it need not be bound). */
    static ByteBuf encodeControlHello(ByteBufAllocator alloc, Address sender) {
        ByteBuf buf = encodeHello(alloc, sender);
        return buf.setByte(4, VERSION_2).writeByte(KIND_CONTROL);
    }

    /** A PING data frame carrying {@code nonce}. */
    static ByteBuf encodePing(ByteBufAllocator alloc, long nonce) {
        return alloc.directBuffer(LENGTH_FIELD_LENGTH + PING_LENGTH).writeInt(PING_LENGTH).writeLong(nonce);
    }

    /** The PONG notice that answers a PING of {@code nonce}. */
    static ByteBuf encodePong(ByteBufAllocator alloc, long nonce) {
        return alloc.directBuffer(NOTICE_HEADER_LENGTH + PING_LENGTH)
                .writeInt(MAGIC).writeByte(VERSION_2).writeByte(PONG).writeShort(PING_LENGTH).writeLong(nonce);
    }

    static ByteBuf encodeAccept(ByteBufAllocator alloc, int maxFrameLength) {
        return encodeAccept(alloc, VERSION, maxFrameLength);
    }

    static ByteBuf encodeAccept(ByteBufAllocator alloc, int version, int maxFrameLength) {
        ByteBuf buf = alloc.directBuffer(NOTICE_HEADER_LENGTH + ACCEPT_DETAIL_LENGTH);
        buf.writeInt(MAGIC).writeByte(version).writeByte(ACCEPTED).writeShort(ACCEPT_DETAIL_LENGTH).writeInt(maxFrameLength);
        return buf;
    }

    static ByteBuf encodeNotice(ByteBufAllocator alloc, int code, String reason) {
        return encodeNotice(alloc, VERSION, code, reason);
    }

    /** A notice with a UTF-8 reason, cut to {@link #MAX_REASON_LENGTH} bytes, in {@code version}'s version byte. */
    static ByteBuf encodeNotice(ByteBufAllocator alloc, int version, int code, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, MAX_REASON_LENGTH);
        ByteBuf buf = alloc.directBuffer(NOTICE_HEADER_LENGTH + length);
        buf.writeInt(MAGIC).writeByte(version).writeByte(code).writeShort(length).writeBytes(text, 0, length);
        return buf;
    }

    /**
     * Sends a refusing or closing notice, then closes without losing it: the output is shut down
     * first and the connection closed after {@link #LINGER_MILLIS}, or when the peer closes. Closing
     * at once while the peer's bytes sit unread makes the kernel reset the connection, and the peer
     * may then never read the notice. The caller discards what still arrives.
     */
    static void sendNoticeAndClose(ChannelHandlerContext ctx, int code, String reason) {
        sendNoticeAndClose(ctx, VERSION, code, reason);
    }

    /** As above, in {@code version}'s version byte. */
    static void sendNoticeAndClose(ChannelHandlerContext ctx, int version, int code, String reason) {
        Channel channel = ctx.channel();
        ctx.writeAndFlush(encodeNotice(ctx.alloc(), version, code, reason)).addListener(written -> {
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
            case PONG: return "PONG";
            case ACK: return "ACK";
            default: return "UNKNOWN(" + code + ")";
        }
    }
}
