package org.stagecrew.transport;

/**
 * A send failed because no socket file exists at the destination address. The destination has not started yet, has closed, or the address is wrong.
 */
public class UnknownAddressException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public UnknownAddressException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public UnknownAddressException(String message, Throwable cause) {
        super(message, cause);
    }
}
