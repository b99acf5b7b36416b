package org.stagecrew.transport;

/**
 * A send failed because the destination's socket file exists but nothing listens on it: the destination died without unlinking it, or the file is not a socket.
 */
public class ConnectionRefusedException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public ConnectionRefusedException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public ConnectionRefusedException(String message, Throwable cause) {
        super(message, cause);
    }
}
