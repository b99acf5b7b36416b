package org.stagecrew.transport.netty;

import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportException;

/**
 * The life of one {@link OutboundConnection}, as a small state machine whose transitions all live
 * here:
 *
 * <pre>
 *   CONNECTING --hello accepted--> ACCEPTED
 *       |                             |
 *       +--connect failed, rejected,  +--write failed, peer notice,
 *          timed out, closed              closed, protocol error
 *                    \                   /
 *                     +----> FAILED <---+      (terminal: the first cause wins)
 * </pre>
 *
 * <p>{@code CONNECTING} covers the connect and the wait for the listener's answer to our hello:
 * frames queue but are not written. In {@code ACCEPTED} the drain writes them. {@code FAILED} is
 * terminal; the connection is dropped from the transport's cache and the next send makes a new one.
 * Any other move is a bug in the caller and throws {@link IllegalStateException}.
 *
 * <p>Moved by the connection's event loop only; read from any thread (the fields are volatile, and
 * the failure is written before the phase, so a reader that sees {@code FAILED} sees its cause).
 */
final class ConnectionState {
    /** Where a connection is in its life. */
    enum Phase {
        CONNECTING,
        ACCEPTED,
        FAILED;

        /** Whether a connection in this phase may move to {@code next}. */
        boolean canMoveTo(Phase next) {
            switch (this) {
                case CONNECTING:
                    return next == ACCEPTED || next == FAILED;
                case ACCEPTED:
                    return next == FAILED;
                default:
                    return false;
            }
        }
    }

    private final Address destination;
    private volatile Phase phase = Phase.CONNECTING;
    private volatile TransportException failure;

    ConnectionState(Address destination) {
        this.destination = destination;
    }

    Phase phase() {
        return phase;
    }

    /** Whether the listener accepted our hello and the connection has not failed since. */
    boolean isAccepted() {
        return phase == Phase.ACCEPTED;
    }

    /** The failure that ended the connection, or null while it is usable. */
    TransportException failure() {
        return failure;
    }

    /** CONNECTING to ACCEPTED. Event loop only. */
    void accept() {
        moveTo(Phase.ACCEPTED);
    }

    /**
     * To FAILED with {@code cause}; returns false, changing nothing, if the connection had already
     * failed (the first cause wins). Event loop only.
     */
    boolean fail(TransportException cause) {
        if (phase == Phase.FAILED) {
            return false;
        }
        failure = cause;
        moveTo(Phase.FAILED);
        return true;
    }

    private void moveTo(Phase next) {
        Phase current = phase;
        if (!current.canMoveTo(next)) {
            throw new IllegalStateException("connection to " + destination + " cannot move from " + current + " to " + next);
        }
        phase = next;
    }

    @Override
    public String toString() {
        return phase + (failure != null ? " (" + failure.getMessage() + ")" : "");
    }
}
