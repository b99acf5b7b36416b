package org.stagecrew.transport.netty;

import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.function.LongSupplier;
import org.stagecrew.transport.IdleStrategy;

/**
 * Where a microbenchmark's body runs. Netty 4.2's {@code Recycler} pools its objects (the pooled
 * buffers themselves, slices, duplicates) only on a {@link FastThreadLocalThread}, which every
 * event loop is; on any other thread, such as a JMH worker or a user's thread, each
 * {@code Recycler.get()} allocates a new object. So code that runs on the event loop in
 * production is measured here on a {@code FastThreadLocalThread} ({@code "netty"}), and
 * {@code "plain"} shows what the same code allocates on an ordinary thread.
 *
 * <p>Measured: with the default warm-up (3 x 2 s) the times on both threads agree within the error;
 * with 1 s warm-ups the {@code "netty"} times came out several times longer, most likely because
 * C2 had not finished (two busy threads on a 2-core machine leave the compiler little CPU). Keep
 * the warm-up.
 *
 * <p>The hand-off is two volatile fields and {@code Thread.yield()} while waiting (rather than a pure spin,
 * so that the JIT compiler threads get CPU on a 2-core machine): it
 * allocates nothing and costs microseconds per invocation, spread over the thousands of frames an
 * invocation handles.
 */
final class BenchThread implements AutoCloseable {
    /** Yields from the first wait, so that the JIT compiler threads get CPU on a 2-core machine. */
    private static final IdleStrategy HAND_OFF = IdleStrategy.spinThenYield(0);
    private final Thread thread;
    private volatile LongSupplier task;
    private volatile boolean done;
    private volatile boolean stopped;
    private long result;
    private Throwable failure;

    /** {@code kind}: {@code "netty"} (a FastThreadLocalThread) or {@code "plain"} (the caller's thread). */
    BenchThread(String kind) {
        switch (kind) {
            case "netty":
                thread = new FastThreadLocalThread(this::loop, "jmh-netty-thread");
                thread.setDaemon(true);
                thread.start();
                break;
            case "plain":
                thread = null;
                break;

            default:
                throw new IllegalArgumentException("thread must be netty or plain, was: " + kind);
        }
    }

    long call(LongSupplier body) {
        if (thread == null) {
            return body.getAsLong();
        }
        done = false;
        task = body;
        for (int attempt = 0; !done; attempt++) {
            HAND_OFF.idle(attempt);
        }
        if (failure != null) {
            Throwable t = failure;
            failure = null;
            throw new IllegalStateException("benchmark body failed", t);
        }
        return result;
    }

    private void loop() {
        for (int attempt = 0; !stopped; attempt++) {
            LongSupplier body = task;
            if (body == null) {
                HAND_OFF.idle(attempt);
                continue;
            }
            attempt = -1;
            task = null;
            try {
                result = body.getAsLong();
            } catch (Throwable t) {
                failure = t;
            }
            done = true;
        }
    }

    @Override
    public void close() {
        stopped = true;
    }
}
