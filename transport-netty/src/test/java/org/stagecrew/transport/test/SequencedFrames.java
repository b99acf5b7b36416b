package org.stagecrew.transport.test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.HashMap;
import java.util.Map;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;

/**
 * Payloads that say who sent them and in which order, and a handler that checks them.
 *
 * <p>Layout: {@code int source}, {@code long seq}, then {@code seq % 61} pattern bytes derived from
 * both, so that a frame that is lost, repeated, reordered, truncated or corrupted is noticed. The
 * frame is written and read with one bulk operation each, because the PARANOID leak detector records
 * a stack trace for every access.
 */
public final class SequencedFrames {

    private static final int HEADER = Integer.BYTES + Long.BYTES;

    private SequencedFrames() {
    }

    /** Returns a pooled direct buffer holding frame {@code seq} of {@code source}. */
    public static ByteBuf payload(int source, long seq) {
        byte[] bytes = encode(source, seq);
        return ByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
    }

    static byte[] encode(int source, long seq) {
        int patternLength = (int) (seq % 61);
        byte[] bytes = new byte[HEADER + patternLength];
        for (int i = 0; i < Integer.BYTES; i++) {
            bytes[i] = (byte) (source >>> (24 - 8 * i));
        }
        for (int i = 0; i < Long.BYTES; i++) {
            bytes[Integer.BYTES + i] = (byte) (seq >>> (56 - 8 * i));
        }
        for (int i = 0; i < patternLength; i++) {
            bytes[HEADER + i] = pattern(source, seq, i);
        }
        return bytes;
    }

    private static byte pattern(int source, long seq, int index) {
        return (byte) (source * 31 + seq * 7 + index);
    }

    /**
     * Checks frames from any number of sources: each intact and in order per source, and each source
     * always arriving from the same sender address. Never throws from {@link #onFrame} (an assertion
     * error would escape {@code poll}); the first problem is kept in {@link #firstError()}.
     *
     * <p>Not thread-safe: use it from the polling thread.
     */
    public static final class Checker implements FrameHandler {
        private final long[] next;
        private final Address[] senders;
        private final Map<Address, Integer> sourceBySender = new HashMap<>();
        private final boolean oneSenderPerSource;
        private byte[] scratch = new byte[HEADER + 64];
        private long received;
        private String firstError;

        /**
         * @param sources the sources, numbered from 0
         * @param oneSenderPerSource whether each source has its own transport (and so address)
         */
        public Checker(int sources, boolean oneSenderPerSource) {
            this.next = new long[sources];
            this.senders = new Address[sources];
            this.oneSenderPerSource = oneSenderPerSource;
        }

        @Override
        public void onFrame(Frame frame) {
            received++;
            if (firstError != null) {
                return;
            }
            ByteBuf payload = frame.payload();
            int length = payload.readableBytes();
            if (length < HEADER) {
                firstError = "frame #" + received + " has " + length + " bytes, less than the " + HEADER + "-byte header";
                return;
            }
            if (scratch.length < length) {
                scratch = new byte[length];
            }
            payload.getBytes(payload.readerIndex(), scratch, 0, length);
            int source = 0;
            for (int i = 0; i < Integer.BYTES; i++) {
                source = source << 8 | scratch[i] & 0xff;
            }
            long seq = 0;
            for (int i = 0; i < Long.BYTES; i++) {
                seq = seq << 8 | scratch[Integer.BYTES + i] & 0xff;
            }
            if (source < 0 || source >= next.length) {
                firstError = "frame #" + received + " names source " + source + ", expected 0.." + (next.length - 1);
                return;
            }
            if (seq != next[source]) {
                firstError = "source " + source + ": expected seq " + next[source] + " but got " + seq
                        + " (lost, repeated or reordered frame)";
                return;
            }
            if (!checkSender(source, frame.sender())) {
                return;
            }
            int patternLength = (int) (seq % 61);
            if (length != HEADER + patternLength) {
                firstError = "source " + source + " seq " + seq + ": length " + length + ", expected " + (HEADER + patternLength);
                return;
            }
            for (int i = 0; i < patternLength; i++) {
                if (scratch[HEADER + i] != pattern(source, seq, i)) {
                    firstError = "source " + source + " seq " + seq + ": corrupted byte at offset " + (HEADER + i);
                    return;
                }
            }
            next[source]++;
        }

        private boolean checkSender(int source, Address sender) {
            if (senders[source] == null) {
                senders[source] = sender;
            } else if (!senders[source].equals(sender)) {
                firstError = "source " + source + " arrived from " + sender + " after " + senders[source];
                return false;
            }
            if (oneSenderPerSource) {
                Integer previous = sourceBySender.putIfAbsent(sender, source);
                if (previous != null && previous != source) {
                    firstError = "sender " + sender + " carried sources " + previous + " and " + source;
                    return false;
                }
            }
            return true;
        }

        /** Frames handled so far, good or bad. */
        public long received() {
            return received;
        }

        /** Frames received intact and in order from {@code source}. */
        public long inOrder(int source) {
            return next[source];
        }

        /** The first problem seen, or {@code null}. */
        public String firstError() {
            return firstError;
        }
    }
}
