package org.stagecrew.transport.netty;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for a connection's event loop that runs nothing and counts what it was asked to run:
 * a stress test reads how many drain tasks the {@link DrainScheduler} submitted. Thread-safe.
 */
final class CountingLoop extends AbstractExecutorService implements ScheduledExecutorService {
    private final AtomicInteger submitted = new AtomicInteger();

    /** Tasks submitted so far, now or delayed. */
    int submitted() {
        return submitted.get();
    }

    @Override
    public void execute(Runnable command) {
        submitted.incrementAndGet();
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        submitted.incrementAndGet();
        return null;
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("the drain scheduler submits Runnables only");
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new UnsupportedOperationException("the drain scheduler never repeats a task");
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("the drain scheduler never repeats a task");
    }

    @Override
    public void shutdown() {
    }

    @Override
    public List<Runnable> shutdownNow() {
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return false;
    }

    @Override
    public boolean isTerminated() {
        return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return false;
    }
}
