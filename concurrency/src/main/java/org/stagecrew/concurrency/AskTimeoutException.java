package org.stagecrew.concurrency;

import org.stagecrew.transport.TransportTimeoutException;

/**
 * An {@link Ask#ask} got no reply within its timeout. The request may still be handled and
 * answered; such a late reply is dropped and counted in {@link Ask#lateReplies()}.
 */
public class AskTimeoutException extends TransportTimeoutException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; the message names the destination, the correlation id and the timeout. */
    public AskTimeoutException(String message) {
        super(message);
    }
}
