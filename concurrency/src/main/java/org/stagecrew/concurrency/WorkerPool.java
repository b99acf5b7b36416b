package org.stagecrew.concurrency;

import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.Transport;

/**
 * Worker threads that consume the frames of one or many transports and call user handlers.
 *
 * <p>Each served transport is handled serially, in arrival order per sender, by one worker at a
 * time (actor semantics), whatever the number of threads; N threads serve many transports at once.
 * Frames reach handlers as views (see {@link org.stagecrew.transport.Frame}), without allocation.
 * Memory stays bounded end to end: a slow handler leaves frames in its transport's bounded inbox,
 * the transport then stops reading its sockets, and the senders' blocking sends wait.
 *
 * <p>Thread-safe. The pool registers a frames-available listener on each served transport; listeners
 * the user added stay. States and frames in flight:
 * <ul>
 *   <li><b>open</b>: {@link #serve} adds a subscription. Closing a subscription (see {@link
 *       Subscription#close()}) or its transport ends it and the pool forgets it.</li>
 *   <li><b>closed</b> by {@link #close()}: every subscription is closed (frames not yet handled stay
 *       in their transports' inboxes, which the transports' own close releases), then the threads
 *       end. {@code serve} throws. The transports stay open.</li>
 * </ul>
 */
public final class WorkerPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);
    private static final long CLOSE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final String name;
    private final ThreadPoolExecutor executor;
    private final Map<Transport, Mailbox> mailboxes = new ConcurrentHashMap<>();
    private boolean closed; // guarded by this

    private WorkerPool(String name, int threads) {
        this.name = name;
        AtomicInteger counter = new AtomicInteger();
        ThreadFactory factory = r -> new Worker(this, r, "stagecrew-worker-" + name + "-" + counter.incrementAndGet());
        // Unbounded queue, yet bounded in practice: each mailbox has at most one task queued.
        this.executor = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), factory);
    }

    /**
     * A pool thread. FastThreadLocalThreads: Netty's pools and recyclers reuse their objects only on
     * those, so a handler that allocates or retains buffers allocates no wrapper objects per message.
     */
    private static final class Worker extends FastThreadLocalThread {
        final WorkerPool pool;

        Worker(WorkerPool pool, Runnable task, String name) {
            super(task, name);
            this.pool = pool;
            setDaemon(true);
        }
    }

    /**
     * Creates a pool of {@code threads} daemon threads named {@code stagecrew-worker-<name>-<n>}.
     *
     * @throws IllegalArgumentException if {@code threads} is not between 1 and 1024
     */
    public static WorkerPool create(String name, int threads) {
        Objects.requireNonNull(name, "name");
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be between 1 and 1024, was: " + threads);
        }
        return new WorkerPool(name, threads);
    }

    /**
     * Serves {@code transport}: every frame it receives from now on (and any already waiting) goes
     * to {@code handler} on a worker thread, one frame at a time. A handler that throws is logged
     * with the sender and counted; the worker goes on with the next frame (an {@link Error} is
     * counted and logged too, and then propagates: the pool replaces the thread and the frames
     * still waiting are handled). A transport is served by one subscription of this pool at a time.
     * A transport that closes ends its subscription. The pool is woken through the transport's
     * {@link org.stagecrew.transport.FrameSignals}, beside any listener the application added there.
     *
     * @throws UnsupportedOperationException if the transport's implementation has no {@code
     *     FrameSignals}
     * @throws IllegalStateException if the pool is closed, or the transport is already served by it
     * @throws IllegalArgumentException if the transport hands its frames to an {@code
     *     eventLoopHandler}, so that there is nothing to serve
     */
    public Subscription serve(Transport transport, FrameHandler handler) {
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(handler, "handler");
        if (transport.config().eventLoopHandler() != null) {
            throw new IllegalArgumentException("transport " + transport.address() + " cannot be served: it hands every frame"
                    + " to its TransportConfig.eventLoopHandler on the event loop");
        }
        Mailbox mailbox;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("worker pool " + name + " is closed");
            }
            mailbox = new Mailbox(transport, handler, executor, served -> mailboxes.remove(served.transport(), served));
            if (mailboxes.putIfAbsent(transport, mailbox) != null) {
                throw new IllegalStateException("transport " + transport.address()
                        + " is already served by this pool; close that subscription first");
            }
        }
        mailbox.open();
        return mailbox;
    }

    /**
     * Closes every subscription (waiting up to 5 s in all for handler calls in progress), then ends
     * the threads, interrupting them if a handler has not returned by then. Called from one of this
     * pool's handlers, it does not wait for that handler: its thread ends when the handler returns.
     * Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        long deadline = System.nanoTime() + CLOSE_TIMEOUT_NANOS;
        for (Mailbox mailbox : List.copyOf(mailboxes.values())) {
            mailbox.close(Math.max(0, deadline - System.nanoTime()));
        }
        executor.shutdown();
        if (Thread.currentThread() instanceof Worker worker && worker.pool == this) {
            return; // waiting would wait for ourselves
        }
        try {
            if (!executor.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                LOG.warn("worker pool {}: a handler did not return within {} ms; interrupting the workers", name,
                        TimeUnit.NANOSECONDS.toMillis(CLOSE_TIMEOUT_NANOS));
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            executor.shutdownNow();
        }
    }
}
