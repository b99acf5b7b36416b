package org.stagecrew.transport;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A control connection to a peer's transport (hello version 2, kind CONTROL; see PROTOCOL.md): it
 * carries round trips that the peer's transport answers itself, without its application, and it
 * tells when the peer goes away. It needs no transport of its own. Open one with {@code
 * org.stagecrew.transport.netty.NettyTransports.connectControl}.
 *
 * <p>Thread-safe: {@link #ping} may be called from any thread, also concurrently. Holds one socket
 * and no buffer between calls; {@link #close()} is idempotent.
 */
public interface ControlConnection extends AutoCloseable {

    /** The peer's address. */
    Address peer();

    /**
     * Sends one PING and waits for its PONG.
     *
     * @return the round-trip time, from the write of the PING to the read of its PONG
     * @throws TransportTimeoutException if no PONG came within {@code timeout}; the connection stays
     *     usable, and a late PONG is ignored
     * @throws TransportException the cause the connection ended with (see {@link #ended()}), if it
     *     has ended
     */
    Duration ping(Duration timeout);

    /**
     * Completes, once, when the connection has ended, with why: a {@link TransportClosedException}
     * that is not a {@link PeerDiedException} when the peer closed its transport in order (it sent
     * {@code SHUTTING_DOWN}) or this side closed the connection; a {@link PeerDiedException} when
     * the connection ended without a notice (the peer's process was killed or crashed); a {@link
     * ProtocolException} when the peer broke the protocol. Callbacks run on the connection's event
     * loop and must not block.
     */
    CompletableFuture<TransportException> ended();

    /** Closes the connection; {@link #ended()} then completes if it had not. Idempotent. */
    @Override
    void close();
}
