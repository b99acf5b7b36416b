package org.stagecrew.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A client that speaks PROTOCOL.md byte by byte over the JDK's own Unix-domain {@link SocketChannel},
 * with nothing of stagecrew in between: what a hostile or foreign local process can do. Writes
 * block; reads wait at most a given time. Not thread-safe.
 */
final class RawClient implements AutoCloseable {
    static final byte[] MAGIC = {0x53, 0x43, 0x52, 0x57};
    static final int VERSION = 1;
    static final int ACCEPTED = 0;
    static final int UNSUPPORTED_VERSION = 1;
    static final int NOT_ALLOWED = 2;
    static final int TOO_MANY_CONNECTIONS = 3;
    static final int MALFORMED_HELLO = 4;
    static final int PROTOCOL_ERROR = 5;
    static final int NOTICE_HEADER = 8;

    private final SocketChannel channel;
    private final long connectedAt;
    private Selector selector;

    private RawClient(SocketChannel channel) {
        this.channel = channel;
        this.connectedAt = System.nanoTime();
    }

    /** Connects to the socket file, blocking (the kernel completes the connect once the listener's backlog takes it). */
    static RawClient connect(Path socketFile) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socketFile));
            return new RawClient(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** A hello: magic, {@code version}, address length and the address bytes. */
    static byte[] hello(int version, byte[] address) {
        ByteBuffer b = ByteBuffer.allocate(7 + address.length);
        b.put(MAGIC).put((byte) version).putShort((short) address.length).put(address);
        return b.array();
    }

    /** A version-1 hello stating {@code address}. */
    static byte[] hello(String address) {
        return hello(VERSION, address.getBytes(StandardCharsets.UTF_8));
    }

    /** A data frame: u32 length, then the payload. */
    static byte[] frame(byte[] payload) {
        return ByteBuffer.allocate(4 + payload.length).putInt(payload.length).put(payload).array();
    }

    /** A frame header declaring {@code length} (an unsigned 32-bit value) followed by {@code bodyBytes} zero bytes. */
    static byte[] header(long length, int bodyBytes) {
        return ByteBuffer.allocate(4 + bodyBytes).putInt((int) length).array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Writes every byte, blocking. */
    RawClient write(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
        return this;
    }

    /** Half-closes: the listener reads end-of-stream, we can still read. */
    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** Milliseconds since the connect returned. */
    long millisSinceConnect() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectedAt);
    }

    /** Reads exactly {@code n} bytes, or fewer if the stream ends, fails or {@code timeout} passes first. */
    Answer readExactly(int n, Duration timeout) {
        return read(n, timeout);
    }

    /** Reads one notice (its header, then as many detail bytes as the header states), waiting at most {@code timeout} in all. */
    Answer readNotice(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Answer header = read(NOTICE_HEADER, timeout);
        if (header.bytes().length < NOTICE_HEADER) {
            return header;
        }
        int length = ByteBuffer.wrap(header.bytes()).getShort(6) & 0xffff;
        Answer detail = read(length, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        return new Answer(concat(header.bytes(), detail.bytes()), detail.eof(), detail.error(), header.millis() + detail.millis());
    }

    /** Reads until end-of-stream (the listener closed or shut down its output), an error, or {@code timeout}. */
    Answer readToEnd(Duration timeout) {
        return read(Integer.MAX_VALUE, timeout);
    }

    private Answer read(int limit, Duration timeout) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        boolean eof = false;
        String error = null;
        try {
            if (selector == null) {
                channel.configureBlocking(false);
                selector = Selector.open();
                channel.register(selector, SelectionKey.OP_READ);
            }
            while (got.size() < limit) {
                buf.clear().limit(Math.min(buf.capacity(), limit - got.size()));
                int n = channel.read(buf);
                if (n < 0) {
                    eof = true;
                    break;
                }
                if (n > 0) {
                    got.write(buf.array(), 0, n);
                    continue;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                selector.selectedKeys().clear();
            }
        } catch (IOException e) {
            error = e.toString();
        }
        return new Answer(got.toByteArray(), eof, error, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    @Override
    public void close() {
        try {
            if (selector != null) {
                selector.close();
            }
            channel.close();
        } catch (IOException e) {
            // nothing to release beyond the descriptor, which close() frees even when it reports an error
        }
    }

    /** One notice read back: its code and its detail (a reason, or for ACCEPTED the stated maximum). */
    record Notice(int code, String reason, long maxFrameLength) {
        String name() {
            return switch (code) {
                case ACCEPTED -> "ACCEPTED";
                case UNSUPPORTED_VERSION -> "UNSUPPORTED_VERSION";
                case NOT_ALLOWED -> "NOT_ALLOWED";
                case TOO_MANY_CONNECTIONS -> "TOO_MANY_CONNECTIONS";
                case MALFORMED_HELLO -> "MALFORMED_HELLO";
                case PROTOCOL_ERROR -> "PROTOCOL_ERROR";
                case 6 -> "SHUTTING_DOWN";
                default -> "UNKNOWN(" + code + ")";
            };
        }

        @Override
        public String toString() {
            return code + " " + name() + (code == ACCEPTED ? " (max " + maxFrameLength + ")" : " \"" + reason + "\"");
        }
    }

    /**
     * What a read got: the bytes, whether the stream ended, an I/O error if one ended it, and how
     * long it took.
     */
    record Answer(byte[] bytes, boolean eof, String error, long millis) {

        /** The notices in the bytes, in order; a malformed remainder becomes a notice of code -1. */
        List<Notice> notices() {
            List<Notice> notices = new ArrayList<>();
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.remaining() >= NOTICE_HEADER) {
                byte[] magic = new byte[4];
                b.get(magic);
                int version = b.get() & 0xff;
                int code = b.get() & 0xff;
                int length = b.getShort() & 0xffff;
                if (!Arrays.equals(magic, MAGIC) || version != VERSION || b.remaining() < length) {
                    notices.add(new Notice(-1, "not a notice: " + Arrays.toString(bytes), -1));
                    return notices;
                }
                byte[] detail = new byte[length];
                b.get(detail);
                long max = code == ACCEPTED && length == 4 ? ByteBuffer.wrap(detail).getInt() & 0xffffffffL : -1;
                notices.add(new Notice(code, code == ACCEPTED ? "" : new String(detail, StandardCharsets.UTF_8), max));
            }
            if (b.hasRemaining()) {
                notices.add(new Notice(-1, b.remaining() + " stray byte(s)", -1));
            }
            return notices;
        }

        /** {@code first} followed by {@code rest}: their bytes, and how {@code rest} ended. */
        static Answer joined(Answer first, Answer rest) {
            return new Answer(concat(first.bytes(), rest.bytes()), rest.eof(), rest.error(), first.millis() + rest.millis());
        }

        /** Codes of {@link #notices()}, e.g. {@code [0, 5]}. */
        List<Integer> codes() {
            return notices().stream().map(Notice::code).toList();
        }

        /** e.g. {@code 0 ACCEPTED (max 65536), 5 PROTOCOL_ERROR "..." , EOF after 3 ms}. */
        String describe() {
            StringBuilder s = new StringBuilder();
            notices().forEach(n -> s.append(n).append(", "));
            s.append(eof ? "EOF" : error != null ? "error " + error : "no EOF").append(" after ").append(millis).append(" ms");
            return s.toString();
        }
    }
}
