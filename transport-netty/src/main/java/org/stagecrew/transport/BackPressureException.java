package org.stagecrew.transport;

/**
 * An asynchronous send failed at once because the destination's connection is above its high write-buffer watermark. Slow down: wait for earlier futures, or use the blocking send.
 */
public class BackPressureException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the address involved. */
    public BackPressureException(String message) {
        super(message);
    }

    /** Creates the exception with a message that names the address involved, and its cause. */
    public BackPressureException(String message, Throwable cause) {
        super(message, cause);
    }
}
