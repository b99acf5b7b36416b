package org.stagecrew.concurrency;

import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * <p>Thread-safe. Closing the pool stops serving and ends its threads (waiting up to 5 s); the
 * transports stay open and keep their unhandled frames, which their own close releases.
 */
public final class WorkerPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);
    private static final long CLOSE_TIMEOUT_MILLIS = 5_000;

    private final String name;
    private final ThreadPoolExecutor executor;
    private final List<Mailbox> mailboxes = new CopyOnWriteArrayList<>();

    private WorkerPool(String name, int threads) {
        this.name = name;
        AtomicInteger counter = new AtomicInteger();
        // FastThreadLocalThreads: Netty's pools and recyclers reuse their objects only on those, so a
        // handler that allocates or retains buffers allocates no wrapper objects per message.
        ThreadFactory factory = r -> {
            Thread t = new FastThreadLocalThread(r, "stagecrew-worker-" + name + "-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // Unbounded queue, yet bounded in practice: each mailbox has at most one task queued.
        this.executor = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), factory);
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
     * with the sender and counted; the worker goes on with the next frame. A transport is served by
     * one subscription at a time.
     *
     * @throws IllegalStateException if the pool is closed
     */
    public Subscription serve(Transport transport, FrameHandler handler) {
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(handler, "handler");
        if (executor.isShutdown()) {
            throw new IllegalStateException("worker pool " + name + " is closed");
        }
        Mailbox mailbox = new Mailbox(transport, handler, executor, mailboxes::remove);
        for (Mailbox served : mailboxes) {
            if (served.transport() == transport) {
                throw new IllegalStateException("transport " + transport.address()
                        + " is already served by this pool; close that subscription first");
            }
        }
        mailboxes.add(mailbox);
        mailbox.open();
        return mailbox;
    }

    @Override
    public void close() {
        if (executor.isShutdown()) {
            return;
        }
        for (Mailbox mailbox : List.copyOf(mailboxes)) {
            mailbox.close();
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(CLOSE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                LOG.warn("worker pool {}: a handler did not return within {} ms; interrupting the workers", name, CLOSE_TIMEOUT_MILLIS);
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            executor.shutdownNow();
        }
    }
}
