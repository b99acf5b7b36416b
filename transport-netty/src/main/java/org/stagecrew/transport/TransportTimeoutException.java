package org.stagecrew.transport;

/**
 * A wait ran out: a blocking send over the high watermark, a connect, or a hello answer.
 */
public class TransportTimeoutException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public TransportTimeoutException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public TransportTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
