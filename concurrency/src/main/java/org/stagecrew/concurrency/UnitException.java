package org.stagecrew.concurrency;

/**
 * A unit could not be started, or failed: the message names the unit, its process id where there
 * is one, its exit status and where its log is.
 */
public class UnitException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception. */
    public UnitException(String message) {
        super(message);
    }

    /** Creates the exception with its cause. */
    public UnitException(String message, Throwable cause) {
        super(message, cause);
    }
}
