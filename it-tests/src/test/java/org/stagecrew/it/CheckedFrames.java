package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;

/**
 * Frames that say who sent them, in which order, and what their body must hash to, and a checker.
 *
 * <pre>
 *  0        4                12       16                      length
 *  +--------+----------------+--------+-----------------------+
 *  | sender | sequence (u64) | CRC32  | body (pseudo-random)  |   big-endian
 *  +--------+----------------+--------+-----------------------+
 * </pre>
 *
 * The length varies between {@code minLength} and {@code maxLength} with the sender and sequence,
 * and the body's bytes depend on both, so that a lost, repeated, reordered, truncated, misrouted or
 * corrupted frame is noticed. Frames are written and read with one bulk operation each: the PARANOID
 * leak detector records a stack trace on every buffer access.
 */
final class CheckedFrames {
    static final int HEADER = 16;

    private final int minLength;
    private final int maxLength;
    private final CRC32 crc = new CRC32();
    private byte[] scratch;

    CheckedFrames(int minLength, int maxLength) {
        if (minLength < HEADER || maxLength < minLength) {
            throw new IllegalArgumentException("need " + HEADER + " <= minLength <= maxLength, was " + minLength + ".." + maxLength);
        }
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.scratch = new byte[maxLength];
    }

    int length(int sender, long seq) {
        long h = mix(sender * 0x9E3779B97F4A7C15L + seq);
        return minLength + (int) Long.remainderUnsigned(h, maxLength - minLength + 1);
    }

    /** Returns a pooled direct buffer holding frame {@code seq} of {@code sender}. Not thread-safe (one scratch array). */
    ByteBuf encode(int sender, long seq) {
        int length = length(sender, seq);
        byte[] b = scratch;
        fillBody(b, sender, seq, length);
        crc.reset();
        crc.update(b, HEADER, length - HEADER);
        putInt(b, 0, sender);
        putLong(b, 4, seq);
        putInt(b, 12, (int) crc.getValue());
        return ByteBufAllocator.DEFAULT.directBuffer(length).writeBytes(b, 0, length);
    }

    private static void fillBody(byte[] b, int sender, long seq, int length) {
        long x = mix(seq * 31 + sender + 1);
        for (int i = HEADER; i < length; i++) {
            if ((i & 7) == 0) {
                x = mix(x);
            }
            b[i] = (byte) (x >>> ((i & 7) * 8));
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    static void putInt(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (24 - 8 * i));
        }
    }

    static void putLong(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) {
            b[at + i] = (byte) (v >>> (56 - 8 * i));
        }
    }

    static int getInt(byte[] b, int at) {
        int v = 0;
        for (int i = 0; i < 4; i++) {
            v = v << 8 | b[at + i] & 0xff;
        }
        return v;
    }

    static long getLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | b[at + i] & 0xff;
        }
        return v;
    }

    /**
     * Checks the frames of any number of senders, each known by its address, and counts what it
     * saw. Never throws from {@link #onFrame} (that would escape {@code poll}); problems are counted
     * and the first few kept. Not thread-safe: use it from the one consuming thread.
     */
    static final class Checker implements FrameHandler {
        private final CheckedFrames layout;
        private final Map<Address, Integer> senderIndex;
        private final long[] next;
        private final long[] bytesBySender;
        private final CRC32 crc = new CRC32();
        private final List<String> firstErrors = new ArrayList<>();
        private byte[] scratch;
        private long frames;
        private long bytes;
        private long errors;

        /**
         * @param senderIndex every expected sender's address and the index its frames carry
         * @param senders one more than the largest index
         */
        Checker(CheckedFrames layout, Map<Address, Integer> senderIndex, int senders) {
            this.layout = layout;
            this.senderIndex = Map.copyOf(senderIndex);
            this.next = new long[senders];
            this.bytesBySender = new long[senders];
            this.scratch = new byte[layout.maxLength];
        }

        @Override
        public void onFrame(Frame frame) {
            ByteBuf payload = frame.payload();
            int length = payload.readableBytes();
            frames++;
            bytes += length;
            Integer expectedIndex = senderIndex.get(frame.sender());
            if (expectedIndex == null) {
                error("frame from unexpected sender " + frame.sender());
                return;
            }
            if (length < HEADER || length > layout.maxLength) {
                error("frame of " + length + " bytes from " + frame.sender());
                return;
            }
            payload.getBytes(payload.readerIndex(), scratch, 0, length);
            int sender = getInt(scratch, 0);
            long seq = getLong(scratch, 4);
            if (sender != expectedIndex) {
                error("frame from " + frame.sender() + " (index " + expectedIndex + ") says it is from index " + sender);
                return;
            }
            bytesBySender[sender] += length;
            if (seq != next[sender]) {
                error("sender " + sender + ": expected seq " + next[sender] + ", got " + seq
                        + (seq < next[sender] ? " (duplicate or reordered)" : " (lost or reordered)"));
                next[sender] = Math.max(next[sender], seq + 1);
                return;
            }
            next[sender]++;
            if (length != layout.length(sender, seq)) {
                error("sender " + sender + " seq " + seq + ": " + length + " bytes, expected " + layout.length(sender, seq));
                return;
            }
            crc.reset();
            crc.update(scratch, HEADER, length - HEADER);
            if ((int) crc.getValue() != getInt(scratch, 12)) {
                error("sender " + sender + " seq " + seq + ": CRC32 mismatch (corrupted body)");
            }
        }

        private void error(String what) {
            errors++;
            if (firstErrors.size() < 5) {
                firstErrors.add(what);
            }
        }

        long frames() {
            return frames;
        }

        long bytes() {
            return bytes;
        }

        long errors() {
            return errors;
        }

        /** Frames received in order from {@code sender}: the next sequence number expected. */
        long inOrder(int sender) {
            return next[sender];
        }

        /** A one-line summary: {@code frames=.. bytes=.. errors=.. perSender=a,b,.. firstErrors=[..]}. */
        String summary() {
            return "frames=" + frames + " bytes=" + bytes + " errors=" + errors + " perSender="
                    + String.join(",", Arrays.stream(next).mapToObj(Long::toString).toList())
                    + " firstErrors=" + String.join(" | ", firstErrors).replace(' ', '_');
        }
    }
}
