package org.stagecrew.transport;

/**
 * The root of every failure the transport reports. Its subclasses say what happened; the message
 * names the operation, the socket path and the numbers involved, and the cause is chained.
 */
public class TransportException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public TransportException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public TransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
