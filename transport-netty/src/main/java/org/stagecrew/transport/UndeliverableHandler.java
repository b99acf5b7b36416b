package org.stagecrew.transport;

/**
 * Told about frames that were accepted by {@link Transport#offer} or the blocking
 * {@link Transport#send(Address, io.netty.buffer.ByteBuf, java.time.Duration)} and could then not
 * be written to their destination's socket. Frames sent with the future-returning
 * {@link Transport#send(Address, io.netty.buffer.ByteBuf)} fail through their future instead.
 *
 * <p>A frame whose bytes reached the socket is never reported here. The one frame that a
 * connection's end cuts in two is reported in a call of its own, with a {@link
 * TransportClosedException} that says how many of its bytes were written.
 *
 * <p>Called on a transport event loop thread, or, for frames failed after the event loop stopped or
 * held up by a sending thread that was inside a send as its connection failed, on another Netty
 * thread: it must return quickly and must not block. The payloads have already been released.
 */
@FunctionalInterface
public interface UndeliverableHandler {

    /**
     * Reports that {@code frames} frames to {@code destination} were not delivered.
     *
     * @param destination where the frames were going
     * @param frames how many frames failed (at least 1)
     * @param cause why, e.g. {@link UnknownAddressException}, {@link PeerRejectedException},
     *     {@link TransportClosedException}
     */
    void onUndeliverable(Address destination, int frames, TransportException cause);
}
