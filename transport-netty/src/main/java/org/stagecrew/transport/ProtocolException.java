package org.stagecrew.transport;

/**
 * The peer broke the wire protocol: wrong magic, a malformed hello or notice, or a frame longer than the maximum. The connection was closed.
 */
public class ProtocolException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public ProtocolException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public ProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
