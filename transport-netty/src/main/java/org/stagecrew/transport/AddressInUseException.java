package org.stagecrew.transport;

/**
 * Binding failed because a live listener already holds the socket file. Choose another name, or stop the process that listens there.
 */
public class AddressInUseException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public AddressInUseException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public AddressInUseException(String message, Throwable cause) {
        super(message, cause);
    }
}
