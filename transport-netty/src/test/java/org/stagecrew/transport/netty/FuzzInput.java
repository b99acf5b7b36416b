package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a fuzz input front to back, so that a seed can be written by hand: unsigned big-endian
 * fields, each 0 once the input is used up. Every target starts with one config byte and then
 * describes the peer's byte stream as {@linkplain #reads() reads}.
 *
 * <p>Read records, repeated to the end of the input; the low two bits of the op byte say which,
 * the high six bits give spare capacity of the read buffer in KiB (a real read buffer is larger than
 * what the read filled; what a decoder keeps of it is memory held):
 * <pre>
 * op&amp;3 = 0: [op][u16 n][n bytes]        a read of the next n bytes of the input
 * op&amp;3 = 1: [op][u8 n][n bytes]         the same, for short reads
 * op&amp;3 = 2: [op][u24 n][u8 b]           a read of n bytes all equal to b (large frames from short inputs)
 * op&amp;3 = 3: [op][u24 n][u8 b]           a read of n bytes b, b+1, b+2, ... (mod 256)
 * </pre>
 * A read of 0 bytes is skipped, as Netty never delivers one. Not thread-safe.
 */
final class FuzzInput {
    /** Longest generated read, so that one input cannot ask for more memory than a test JVM has. */
    static final int MAX_GENERATED_READ = 1 << 18;
    /** At most this many reads per input. */
    static final int MAX_READS = 256;

    private final byte[] data;
    private int position;

    FuzzInput(byte[] data) {
        this.data = data;
    }

    boolean hasMore() {
        return position < data.length;
    }

    int u8() {
        return position < data.length ? data[position++] & 0xFF : 0;
    }

    int u16() {
        return u8() << 8 | u8();
    }

    int u24() {
        return u8() << 16 | u16();
    }

    byte[] bytes(int n) {
        int end = Math.min(data.length, position + n);
        byte[] bytes = Arrays.copyOfRange(data, position, end);
        position = end;
        return bytes;
    }

    /** One read of the peer's stream: its bytes and the spare capacity of the buffer they came in. */
    record Read(byte[] bytes, int spare) {
        /** The read as Netty would deliver it, in a buffer of {@code alloc}; the caller passes it on. */
        ByteBuf toBuffer(MeteredAllocator alloc, boolean heap) {
            int capacity = bytes.length + spare;
            ByteBuf buf = heap ? alloc.heapBuffer(capacity) : alloc.directBuffer(capacity);
            return buf.writeBytes(bytes);
        }

        int capacity() {
            return bytes.length + spare;
        }
    }

    /** The rest of the input as reads (see the class comment). */
    List<Read> reads() {
        List<Read> reads = new ArrayList<>();
        while (hasMore() && reads.size() < MAX_READS) {
            int op = u8();
            int spare = (op >>> 2) * 1024;
            byte[] bytes;
            switch (op & 3) {
                case 0 -> bytes = bytes(u16());
                case 1 -> bytes = bytes(u8());
                default -> {
                    int n = Math.min(u24(), MAX_GENERATED_READ);
                    int b = u8();
                    bytes = new byte[n];
                    for (int i = 0; i < n; i++) {
                        bytes[i] = (byte) ((op & 3) == 2 ? b : b + i);
                    }
                }
            }
            if (bytes.length > 0) {
                reads.add(new Read(bytes, spare));
            }
        }
        return reads;
    }

    /** The bytes of all {@code reads} back to back: the stream the peer sent. */
    static byte[] stream(List<Read> reads) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Read read : reads) {
            out.writeBytes(read.bytes());
        }
        return out.toByteArray();
    }
}
