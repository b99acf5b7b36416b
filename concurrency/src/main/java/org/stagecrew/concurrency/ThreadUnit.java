package org.stagecrew.concurrency;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;

/**
 * A unit that runs its task in a new thread named after it. The transport is opened by
 * {@link #start()} on the caller's thread (so a bind failure is thrown there) and closed by the unit's
 * thread when the task ends, on every path.
 *
 * <p>States: not started, running (from {@link #start()}; the transport is open before the thread
 * starts), stopping (asked to stop, thread still running), ended. {@code stop}, {@code kill} and
 * {@code close} wait for a {@code start} in progress on another thread, so a stop racing a start
 * is not lost; in the other states they never throw.
 */
final class ThreadUnit implements Concurrency {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadUnit.class);
    private static final Duration FLUSH_ON_END = Duration.ofSeconds(2);

    private final UnitBuilder spec;
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile Thread thread;
    private volatile SimpleTaskContext context;
    private volatile Throwable failure;
    private volatile boolean started;
    private final CompletableFuture<UnitExit> exit = new CompletableFuture<>();
    private volatile long startNanos;

    ThreadUnit(UnitBuilder spec) {
        this.spec = spec;
    }

    @Override
    public String name() {
        return spec.name;
    }

    @Override
    public synchronized Concurrency start() {
        if (started) {
            throw new IllegalStateException("unit " + spec.name + " was already started");
        }
        started = true;
        startNanos = System.nanoTime();
        Transport transport;
        try {
            transport = Transport.open(spec.transportConfig);
        } catch (RuntimeException e) {
            ended.countDown();
            failure = e;
            completeExit();
            throw new UnitException("unit " + spec.name + " could not open its transport: " + e.getMessage(), e);
        }
        SimpleTaskContext ctx = new SimpleTaskContext(spec.name, transport, spec.parent, spec.peers, spec.arguments);
        Thread t = new Thread(() -> runTask(ctx), spec.name);
        // The thread before the context: whoever sees the context sees its thread (stop and kill also
        // wait for this synchronized start, so that a stop racing it is not lost).
        thread = t;
        context = ctx;
        t.start();
        UnitEvents.started(spec.name, spec.kind, transport.address(), ProcessHandle.current().pid(), spec.parent);
        return this;
    }

    private void runTask(SimpleTaskContext ctx) {
        try {
            spec.task.run(ctx);
        } catch (Throwable t) {
            // A task that ends by throwing because it was asked to stop (an interrupted receive) stopped cleanly.
            if (ctx.endedByStop(t)) {
                LOG.debug("unit {} ended after a stop request: {}", spec.name, t.toString());
            } else {
                failure = t;
                LOG.warn("unit {} failed{}", spec.name, ctx.isStopRequested() ? " while stopping" : "", t);
            }
        } finally {
            try {
                // Frames the task sent just before it ended (a last reply) are written, not failed by the close.
                if (ctx.transport().isOpen() && !ctx.transport().flush(FLUSH_ON_END)) {
                    LOG.warn("unit {} ended with frames its destinations did not take within {} ms; they fail",
                            spec.name, FLUSH_ON_END.toMillis());
                }
                ctx.transport().close();
            } catch (RuntimeException e) {
                LOG.warn("unit {} could not close its transport {}", spec.name, ctx.transport().address(), e);
            }
            ended.countDown();
            completeExit();
        }
    }

    private void completeExit() {
        Throwable f = failure;
        UnitExit e = new UnitExit(spec.name, f == null ? 0 : 1, OptionalInt.empty(), Optional.ofNullable(f),
                Duration.ofNanos(System.nanoTime() - startNanos));
        SimpleTaskContext ctx = context;
        UnitEvents.exited(e, spec.kind, ctx == null ? null : ctx.transport().address(), ProcessHandle.current().pid(), spec.parent);
        exit.complete(e);
    }

    @Override
    public CompletableFuture<UnitExit> onExit() {
        return exit.thenApply(e -> e);
    }

    @Override
    public OptionalLong pid() {
        return OptionalLong.empty();
    }

    @Override
    public Address address() {
        SimpleTaskContext ctx = context;
        if (ctx == null) {
            throw new IllegalStateException("unit " + spec.name + " has not been started");
        }
        return ctx.transport().address();
    }

    @Override
    public boolean join(Duration timeout) {
        if (!started) {
            return false; // nothing to wait for, as for a process unit
        }
        try {
            return ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ended.getCount() == 0;
        }
    }

    @Override
    public boolean isAlive() {
        return started && ended.getCount() > 0;
    }

    @Override
    public boolean stop(Duration timeout) {
        SimpleTaskContext ctx;
        Thread t;
        synchronized (this) {
            ctx = context;
            t = thread;
        }
        if (ctx == null || !isAlive()) {
            return true;
        }
        ctx.requestStop();
        t.interrupt();
        if (join(timeout)) {
            return true;
        }
        LOG.warn("unit {} did not stop within {} ms; closing its transport", spec.name, timeout.toMillis());
        kill();
        return false;
    }

    @Override
    public void kill() {
        SimpleTaskContext ctx;
        Thread t;
        synchronized (this) {
            ctx = context;
            t = thread;
        }
        if (ctx == null) {
            return;
        }
        ctx.requestStop();
        ctx.transport().close();
        t.interrupt();
    }

    @Override
    public OptionalInt exitCode() {
        if (!started || ended.getCount() > 0) {
            return OptionalInt.empty();
        }
        return OptionalInt.of(failure == null ? 0 : 1);
    }

    @Override
    public Optional<Throwable> failure() {
        return ended.getCount() == 0 ? Optional.ofNullable(failure) : Optional.empty();
    }

    @Override
    public Optional<Path> logFile() {
        return Optional.empty();
    }

    @Override
    public void close() {
        stop(DEFAULT_STOP_TIMEOUT);
    }

    @Override
    public String toString() {
        return "ThreadUnit{" + spec.name + (context != null ? ", " + context.transport().address() : "") + '}';
    }
}
