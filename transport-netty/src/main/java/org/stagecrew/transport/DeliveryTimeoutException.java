package org.stagecrew.transport;

/**
 * A frame sent in {@link Delivery#acknowledged acknowledged} delivery was not acknowledged by its
 * destination, which stayed unreachable for the whole redelivery window. The frame may have been
 * consumed by a destination incarnation that died before its acknowledgement reached the sender;
 * no later incarnation gets it.
 */
public class DeliveryTimeoutException extends TransportTimeoutException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the destination and the window. */
    public DeliveryTimeoutException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the destination and the window, and its cause. */
    public DeliveryTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
