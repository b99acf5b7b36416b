package org.stagecrew.concurrency;

import org.stagecrew.transport.Transport;

/**
 * A transport served by a {@link WorkerPool}: its frames go to one handler, one at a time. Closing
 * it stops the serving (the transport stays open). Thread-safe.
 */
public interface Subscription extends AutoCloseable {

    /** The transport whose frames are handled. */
    Transport transport();

    /** Frames handed to the handler so far, including those it threw on. */
    long handled();

    /** Frames on which the handler threw; each was logged with its sender and counted, not retried. */
    long failed();

    /** Stops serving the transport; frames not yet handled stay in its inbox. Idempotent. */
    @Override
    void close();
}
