package org.stagecrew.transport;

/**
 * The operation failed because the transport, or the connection it needed, was closed.
 */
public class TransportClosedException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public TransportClosedException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public TransportClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
