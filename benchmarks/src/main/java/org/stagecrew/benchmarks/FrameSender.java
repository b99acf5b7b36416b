package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * Sends frames of one size carrying sequence numbers 0, 1, 2... in their first 8 bytes: a frame
 * below {@value #COPY_LIMIT} bytes as a copy of one reused buffer, a larger one handed over
 * without a copy, as a user of each size would send them.
 */
final class FrameSender implements AutoCloseable {
    /** Frames below this size are sent as copies of a reused buffer; larger ones are handed over. */
    private static final int COPY_LIMIT = 32 * 1024;

    private final Endpoint endpoint;
    private final String destination;
    private final int size;
    /** The reused buffer of copied frames, or null when frames are handed over. */
    private final ByteBuf frame;
    private long sent;
    private long sum;

    FrameSender(Endpoint endpoint, String destination, int size) {
        this.endpoint = endpoint;
        this.destination = destination;
        this.size = size;
        this.frame = size < COPY_LIMIT ? PooledByteBufAllocator.DEFAULT.directBuffer(size, size).writeZero(size) : null;
    }

    /** Sends the frame with sequence number {@code seq}. */
    void send(long seq) throws Exception {
        if (frame == null) {
            endpoint.send(destination, frame(size, seq));
            return;
        }
        if (frame.capacity() >= Long.BYTES) {
            frame.setLong(0, seq);
        }
        endpoint.sendCopy(destination, frame);
    }

    /** Sends the next frames, 64 between looks at the clock, until {@code deadlineNanos}. */
    void sendUntil(long deadlineNanos) throws Exception {
        while (System.nanoTime() < deadlineNanos) {
            for (int i = 0; i < 64; i++, sent++) {
                send(sent);
                sum += sent;
            }
        }
    }

    /** Frames sent by {@link #sendUntil}. */
    long sent() {
        return sent;
    }

    /** Sum of the sequence numbers sent by {@link #sendUntil}: the receiver's checksum. */
    long sum() {
        return sum;
    }

    @Override
    public void close() {
        if (frame != null) {
            frame.release();
        }
    }

    private static ByteBuf frame(int size, long seq) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(size, size);
        buf.writeLong(seq);
        buf.writerIndex(size);
        return buf;
    }
}
