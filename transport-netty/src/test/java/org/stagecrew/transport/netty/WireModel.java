package org.stagecrew.transport.netty;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The data-frame layout of PROTOCOL.md, section 3, written a second time as plainly as possible:
 * the oracle that fuzz targets hold the decoders to. It shares no code with them.
 */
final class WireModel {
    static final int HEADER = 4;

    private WireModel() {
    }

    /**
     * What a listener makes of {@code stream}: the whole frames from its start, up to the first
     * length above {@code max} ({@code badLength}, else -1) or to an incomplete last frame.
     *
     * @param frames the payloads a listener must deliver, in order
     * @param badLength the first length above the maximum, or -1
     * @param tail bytes after the last whole frame (0 when the stream ends on a frame boundary)
     * @param pendingLength the declared length of the incomplete last frame, or -1 if its length field is incomplete too
     */
    record Frames(List<byte[]> frames, long badLength, int tail, long pendingLength) {
        boolean isBroken() {
            return badLength >= 0;
        }
    }

    static Frames frames(byte[] stream, int length, long max) {
        List<byte[]> frames = new ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(stream, 0, length);
        while (in.remaining() >= HEADER) {
            long declared = Integer.toUnsignedLong(in.getInt(in.position()));
            if (declared > max) {
                return new Frames(frames, declared, in.remaining(), declared);
            }
            if (in.remaining() - HEADER < declared) {
                return new Frames(frames, -1, in.remaining(), declared);
            }
            int start = in.position() + HEADER;
            frames.add(Arrays.copyOfRange(stream, start, start + (int) declared));
            in.position(start + (int) declared);
        }
        return new Frames(frames, -1, in.remaining(), -1);
    }

    /**
     * The start of the first frame that is not whole within the first {@code fed} bytes of {@code
     * stream}, searching from {@code boundary} (a frame start); a stream cut into reads is followed
     * with one call per read, in linear time overall. Stops at a length above {@code max}.
     */
    static int nextBoundary(byte[] stream, int boundary, int fed, long max) {
        while (fed - boundary >= HEADER) {
            long declared = declaredAt(stream, boundary);
            if (declared > max || fed - boundary - HEADER < declared) {
                break;
            }
            boundary += HEADER + (int) declared;
        }
        return boundary;
    }

    /** The length field at {@code index}. */
    static long declaredAt(byte[] stream, int index) {
        return Integer.toUnsignedLong(ByteBuffer.wrap(stream).getInt(index));
    }

    /** The wire form of {@code payloads}: each one after its length. */
    static byte[] encode(List<byte[]> payloads) {
        ByteBuffer out = ByteBuffer.allocate(payloads.stream().mapToInt(p -> HEADER + p.length).sum());
        for (byte[] payload : payloads) {
            out.putInt(payload.length).put(payload);
        }
        return out.array();
    }

    /** Fails unless {@code actual} are exactly the payloads {@code expected}, in order. */
    static void assertSameFrames(List<byte[]> expected, List<byte[]> actual, String what) {
        if (expected.size() != actual.size()) {
            throw new AssertionError(what + ": expected " + expected.size() + " frames, got " + actual.size());
        }
        for (int i = 0; i < expected.size(); i++) {
            if (!Arrays.equals(expected.get(i), actual.get(i))) {
                throw new AssertionError(what + ": frame " + i + " of " + expected.size() + " differs (expected "
                        + expected.get(i).length + " bytes, got " + actual.get(i).length + ")");
            }
        }
    }
}
