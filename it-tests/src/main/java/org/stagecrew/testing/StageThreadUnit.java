package org.stagecrew.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.transport.Address;

/**
 * A thread unit built by a {@link Stage}, whose thread is a daemon thread: a task that ignores stop
 * requests and interrupts cannot keep the test JVM from exiting. A Java thread inherits its daemon
 * status from the thread that creates it, so {@link #start()} starts the unit from a daemon thread.
 * Everything else is the unit's own.
 */
final class StageThreadUnit implements Concurrency {
    private static final Duration START_WAIT = Duration.ofSeconds(60);
    private static final int STACK_FRAMES = 8;

    private final Concurrency unit;

    StageThreadUnit(Concurrency unit) {
        this.unit = unit;
    }

    static boolean isThreadUnit(Concurrency unit) {
        return unit instanceof StageThreadUnit;
    }

    /** Says that a thread unit outlived its kill, and where its thread is. */
    static String describeSurvivor(Concurrency unit) {
        StringBuilder text = new StringBuilder("thread unit ").append(unit.name())
                .append(" is still running after it was asked to stop, interrupted and had its transport closed;"
                        + " a Java thread cannot be killed: make its task return when TaskContext.isStopRequested()"
                        + " or when it is interrupted (the thread is a daemon thread, so it cannot keep the JVM alive)");
        for (Map.Entry<Thread, StackTraceElement[]> t : Thread.getAllStackTraces().entrySet()) {
            if (t.getKey().getName().equals(unit.name())) {
                text.append("\n      thread \"").append(t.getKey().getName()).append("\" ").append(t.getKey().getState()).append(' ')
                        .append(Arrays.stream(t.getValue()).limit(STACK_FRAMES).map(String::valueOf)
                                .collect(Collectors.joining("\n        at ", "\n        at ", "")));
            }
        }
        return text.toString();
    }

    @Override
    public String name() {
        return unit.name();
    }

    /**
     * Starts the unit from a daemon thread, so that its own thread is a daemon thread too.
     *
     * @throws IllegalStateException if starting took more than 60 s (the unit may still start)
     */
    @Override
    public Concurrency start() {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread starter = new Thread(() -> {
            try {
                unit.start();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "stagecrew-start-" + unit.name());
        starter.setDaemon(true);
        starter.start();
        try {
            starter.join(START_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting thread unit " + unit.name(), e);
        }
        if (starter.isAlive()) {
            throw new IllegalStateException("starting thread unit " + unit.name() + " did not finish within " + START_WAIT.toSeconds() + " s");
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException("starting thread unit " + unit.name() + " failed: " + t, t);
        }
        return this;
    }

    @Override
    public Address address() {
        return unit.address();
    }

    @Override
    public boolean join(Duration timeout) {
        return unit.join(timeout);
    }

    @Override
    public boolean isAlive() {
        return unit.isAlive();
    }

    @Override
    public boolean stop(Duration timeout) {
        return unit.stop(timeout);
    }

    @Override
    public void kill() {
        unit.kill();
    }

    @Override
    public OptionalInt exitCode() {
        return unit.exitCode();
    }

    @Override
    public Optional<Throwable> failure() {
        return unit.failure();
    }

    @Override
    public Optional<Path> logFile() {
        return unit.logFile();
    }

    @Override
    public java.util.concurrent.CompletableFuture<org.stagecrew.concurrency.UnitExit> onExit() {
        return unit.onExit();
    }

    @Override
    public java.util.OptionalLong pid() {
        return unit.pid();
    }

    @Override
    public void close() {
        unit.close();
    }

    @Override
    public String toString() {
        return unit.toString();
    }
}
