package org.stagecrew.transport;

/**
 * Binding failed because the address has an owner: another transport or server channel of this JVM,
 * another process holding the address's lock file ({@code <socket file>.lock}; its pid is in the
 * message when known), or a live listener on the socket file. Choose another name, or stop that owner.
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
