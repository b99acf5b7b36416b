package org.stagecrew.transport;

import io.netty.buffer.ByteBuf;

/**
 * One received message: the payload and the address of the transport that sent it.
 *
 * <p><b>Ownership.</b> A frame comes in one of two kinds, and {@link #isOwned()} says which:
 * <ul>
 *   <li>A <em>view</em>, passed to a {@link FrameHandler}: a reused flyweight that is valid only
 *       until the handler returns. Its payload is read-only and must not be released. To keep the
 *       message, call {@link #retain()} (cheap; keeps the whole receive chunk it lies in alive) or
 *       {@link #copy()} (copies the payload; frees the chunk sooner).</li>
 *   <li>An <em>owned</em> frame, returned by {@link Transport#receive}, {@link #retain()} or
 *       {@link #copy()}: the caller must {@link #close()} it exactly once, which releases the
 *       payload.</li>
 * </ul>
 *
 * <p>Reply to a frame by sending to its {@link #sender()}.
 */
public interface Frame extends AutoCloseable {

    /**
     * The address of the transport that sent this frame, as its hello stated it. For what the
     * kernel verified about the sender, see {@link #credentials()}.
     */
    Address sender();

    /** The sending process's credentials, read from the kernel when its connection was accepted. */
    PeerCredentials credentials();

    /**
     * The payload, from its reader index to its writer index. Reading it moves the reader index of
     * this frame only. Valid until the handler returns (view) or until {@link #close()} (owned).
     */
    ByteBuf payload();

    /** Returns whether this frame is owned by the caller and must be closed. */
    boolean isOwned();

    /**
     * Returns an owned frame that shares this frame's payload memory; the caller must close it.
     *
     * @throws IllegalStateException if this frame was already closed
     */
    Frame retain();

    /**
     * Returns an owned frame with a copy of the payload in a pooled buffer; the caller must close it.
     *
     * @throws IllegalStateException if this frame was already closed
     */
    Frame copy();

    /** Releases an owned frame's payload; idempotent. Does nothing for a view. */
    @Override
    void close();
}
