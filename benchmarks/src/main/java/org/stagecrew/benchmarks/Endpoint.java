package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * One endpoint of a benchmarked transport variant, in a form every variant can offer: our
 * {@code Transport} in each I/O mode, our codec over TCP loopback, and the hand-rolled plain-JDK
 * baseline. Addresses travel between processes as strings.
 *
 * <p>Threading: {@link #send} may be called from one thread per destination at a time (a sender
 * thread); {@link #poll} from one consumer thread.
 */
interface Endpoint extends AutoCloseable {

    /** This endpoint's address, as a string another process can pass to {@link #send}. */
    String address();

    /**
     * Sends one frame, blocking while the destination is back-pressured. Takes ownership of
     * {@code payload} (releases it).
     */
    void send(String destination, ByteBuf payload) throws Exception;

    /**
     * Sends a copy of the readable bytes of {@code frame}, blocking while the destination is
     * back-pressured; the caller keeps {@code frame} and may change it as soon as this returns. This
     * default copies into a pooled buffer and sends that; variants that can copy more cheaply do so.
     */
    default void sendCopy(String destination, ByteBuf frame) throws Exception {
        ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(frame.readableBytes());
        send(destination, copy.writeBytes(frame, frame.readerIndex(), frame.readableBytes()));
    }

    /** Waits until everything sent has been written to its socket (or gives up after 30 s). */
    void flush() throws Exception;

    /**
     * Hands up to {@code limit} received payloads to {@code sink}, waiting up to {@code timeoutNanos}
     * for the first; returns how many. The payload is valid only during the call.
     */
    int poll(Sink sink, int limit, long timeoutNanos) throws Exception;

    /**
     * Whether received frames are pushed to the sink set with {@link #onFrames} on the endpoint's
     * own I/O thread, instead of pulled with {@link #poll}.
     */
    default boolean pushes() {
        return false;
    }

    /** Sets the sink that frames are pushed to on the I/O thread; only if {@link #pushes()}. */
    default void onFrames(Sink sink) {
        throw new UnsupportedOperationException("this endpoint does not push frames; poll them");
    }

    @Override
    void close();

    /** Receives payloads from {@link #poll}. */
    @FunctionalInterface
    interface Sink {
        void onFrame(ByteBuf payload);
    }
}
