package org.stagecrew.concurrency;

import java.time.Duration;
import org.stagecrew.transport.Transport;

/**
 * A transport served by a {@link WorkerPool}: its frames go to one handler, one at a time. Thread-safe.
 *
 * <p>States: <b>serving</b> from {@link WorkerPool#serve} until {@link #close()}, the pool's close,
 * or the transport's close; then <b>closed</b>. Closing a subscription leaves the transport open,
 * with the frames not yet handled in its inbox (for another subscription or {@code receive}).
 * Closing the transport ends the subscription too, and the pool forgets it; the transport's close
 * releases the frames still queued.
 */
public interface Subscription extends AutoCloseable {

    /** How long {@link #close()} waits for a handler call in progress: 5 s. */
    Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    /** The transport whose frames are handled. */
    Transport transport();

    /** Frames handed to the handler so far, including those it threw on. */
    long handled();

    /**
     * Frames on which the handler threw, an {@link Error} included; each was logged with its sender
     * and counted, not retried.
     */
    long failed();

    /**
     * Stops serving the transport: no handler call starts after this returns, and the frames not yet
     * handled stay in its inbox. Waits for a handler call in progress to return, up to {@link
     * #DEFAULT_CLOSE_TIMEOUT} (then logs a warning and returns; that call goes on, and it is the
     * last); called from the handler itself, it returns at once and the frame at hand is the last.
     * Restores the interrupt flag if interrupted while waiting. Idempotent.
     */
    @Override
    void close();
}
