package org.stagecrew.concurrency;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;

/**
 * Starts a set of units ("children", each with a name) and restarts one that ends, at the same
 * address, as Erlang/OTP's {@code supervisor} does.
 *
 * <ul>
 *   <li><b>Strategy.</b> {@link Strategy#ONE_FOR_ONE}: only the unit that ended is restarted. {@link
 *       Strategy#ONE_FOR_ALL}: every other unit is stopped too, then all are started again, in order.
 *   <li><b>Which exits.</b> {@link Restart#PERMANENT} (default): every end is restarted; {@link
 *       Restart#TRANSIENT}: only a non-zero exit status.
 *   <li><b>Intensity.</b> At most {@code maxRestarts} restarts within {@code period} (default 3 in
 *       5 s, counted over all children): one more end within that period and the supervisor gives
 *       up, stops every unit and completes {@link #onGiveUp()}.
 *   <li><b>Backoff.</b> A child that ended is started again after a delay that doubles with each of
 *       its restarts within the period, from {@code initial} up to {@code max} (default 100 ms to 5 s).
 * </ul>
 *
 * <p>Addresses stay the same across restarts: a child whose transport configuration has no file
 * name gets one when it is added, and every start uses it. Units that peers reach by address are
 * therefore reachable again after a restart; frames sent to a dead unit fail (with {@link
 * org.stagecrew.transport.PeerDiedException} while its connection breaks, {@link
 * org.stagecrew.transport.UnknownAddressException} or {@link
 * org.stagecrew.transport.ConnectionRefusedException} until it is back), they are not lost silently.
 *
 * <p>Thread-safe. All supervision runs on one thread of its own; {@link #close()} stops every unit
 * (daemons too) and no unit is restarted after it. Idempotent.
 */
public final class Supervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);

    /** Which units are restarted when one ends. */
    public enum Strategy { ONE_FOR_ONE, ONE_FOR_ALL }

    /** Which ends are restarted. */
    public enum Restart { PERMANENT, TRANSIENT }

    /**
     * Why a supervisor gave up.
     *
     * @param child the child whose end exceeded the intensity
     * @param exit that end
     * @param restarts the restarts made within the period before it
     * @param reason a sentence for logs
     */
    public record GiveUp(String child, UnitExit exit, int restarts, String reason) {
    }

    private final String name;
    private final Strategy strategy;
    private final Restart restart;
    private final int maxRestarts;
    private final Duration period;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final SupervisorListener listener;
    private final Map<String, Child> children = new LinkedHashMap<>();
    private final Deque<Long> restartTimes = new ArrayDeque<>();
    private final ScheduledExecutorService thread;
    private final CompletableFuture<GiveUp> giveUp = new CompletableFuture<>();
    private volatile boolean closed;
    /** One-for-all: a restart of everything is scheduled, so further ends need no action of their own. */
    private boolean allRestartPending;

    private static final class Child {
        final String name;
        final UnitBuilder spec;
        volatile Concurrency unit;
        int restarts;
        final Deque<Long> recent = new ArrayDeque<>();

        Child(String name, UnitBuilder spec) {
            this.name = name;
            this.spec = spec;
        }
    }

    private Supervisor(Builder b) {
        this.name = b.name;
        this.strategy = b.strategy;
        this.restart = b.restart;
        this.maxRestarts = b.maxRestarts;
        this.period = b.period;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.listener = b.listener;
        b.children.forEach((n, spec) -> children.put(n, new Child(n, spec)));
        this.thread = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread t = new Thread(task, "stagecrew-supervisor-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    /** A supervisor named {@code name} (its thread's and log lines' name). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** The unit now running as {@code child} (a new object after each restart). */
    public Concurrency unit(String child) {
        Child c = children.get(child);
        if (c == null) {
            throw new IllegalArgumentException("supervisor " + name + " has no child named " + child + "; it has " + children.keySet());
        }
        return c.unit;
    }

    /** The address of {@code child}, the same across restarts. */
    public Address address(String child) {
        return unit(child).address();
    }

    /** Completes if the supervisor gives up (see the class comment); never completes otherwise. */
    public CompletableFuture<GiveUp> onGiveUp() {
        return giveUp.thenApply(g -> g);
    }

    private Supervisor startAll() {
        List<Concurrency> units = new ArrayList<>();
        for (Child c : children.values()) {
            c.unit = c.spec.build();
            units.add(c.unit);
        }
        try {
            Concurrency.startAll(units);
        } catch (RuntimeException e) {
            thread.shutdownNow();
            throw e;
        }
        for (Child c : children.values()) {
            watch(c, c.unit);
        }
        LOG.info("supervisor {} started {} ({}, at most {} restarts in {} ms)", name, children.keySet(), strategy, maxRestarts,
                period.toMillis());
        return this;
    }

    private void watch(Child c, Concurrency unit) {
        unit.onExit().whenComplete((exit, error) -> {
            if (!closed) {
                thread.execute(() -> ended(c, unit, exit));
            }
        });
    }

    /** On the supervisor thread. */
    private void ended(Child c, Concurrency unit, UnitExit exit) {
        if (closed || c.unit != unit) {
            return; // stopped by us (one-for-all, close) or already replaced
        }
        if (allRestartPending) {
            call(() -> listener.unitExited(c.name, exit));
            return; // the pending one-for-all restart starts it again
        }
        call(() -> listener.unitExited(c.name, exit));
        if (restart == Restart.TRANSIENT && exit.isClean()) {
            LOG.info("supervisor {}: {} ended cleanly; not restarted (transient)", name, c.name);
            return;
        }
        long now = System.nanoTime();
        while (!restartTimes.isEmpty() && now - restartTimes.peekFirst() > period.toNanos()) {
            restartTimes.removeFirst();
        }
        if (restartTimes.size() >= maxRestarts) {
            giveUp(c, exit);
            return;
        }
        restartTimes.addLast(now);
        while (!c.recent.isEmpty() && now - c.recent.peekFirst() > period.toNanos()) {
            c.recent.removeFirst();
        }
        long delay = Math.min(maxBackoff.toNanos(), initialBackoff.toNanos() << Math.min(20, c.recent.size()));
        c.recent.addLast(now);
        LOG.warn("supervisor {}: {}; restarting {} in {} ms", name, exit, strategy == Strategy.ONE_FOR_ALL ? "all" : c.name,
                TimeUnit.NANOSECONDS.toMillis(delay));
        allRestartPending = strategy == Strategy.ONE_FOR_ALL;
        thread.schedule(() -> restart(c), delay, TimeUnit.NANOSECONDS);
    }

    private void restart(Child c) {
        if (closed) {
            return;
        }
        allRestartPending = false;
        List<Child> restarting = strategy == Strategy.ONE_FOR_ONE ? List.of(c) : List.copyOf(children.values());
        if (strategy == Strategy.ONE_FOR_ALL) {
            for (Child other : restarting) {
                Concurrency old = other.unit;
                other.unit = null; // its exit is ours, not a failure to act on
                old.stop(Concurrency.DEFAULT_STOP_TIMEOUT);
                awaitExit(old);
            }
        }
        for (Child r : restarting) {
            Concurrency unit = r.spec.build();
            r.unit = unit;
            r.restarts++;
            try {
                unit.start();
            } catch (RuntimeException e) {
                LOG.warn("supervisor {}: restart of {} failed: {}", name, r.name, e.getMessage());
                if (!unit.onExit().isDone()) {
                    // Nothing ran (no process launched), so no exit will come: report one.
                    UnitExit failed = new UnitExit(r.name, 2, OptionalInt.empty(), Optional.of(e), Duration.ZERO);
                    thread.execute(() -> ended(r, unit, failed));
                    r.unit = unit;
                    continue;
                }
            }
            watch(r, unit);
            int n = r.restarts;
            call(() -> listener.unitRestarted(r.name, unit, n));
        }
    }

    private void giveUp(Child c, UnitExit exit) {
        GiveUp g = new GiveUp(c.name, exit, restartTimes.size(), "supervisor " + name + " gave up: " + exit + ", after "
                + restartTimes.size() + " restarts within " + period.toMillis() + " ms (at most " + maxRestarts + " allowed)");
        LOG.error(g.reason());
        closed = true;
        stopAll();
        call(() -> listener.gaveUp(g));
        giveUp.complete(g);
        thread.shutdown();
    }

    private void stopAll() {
        List<Child> reversed = new ArrayList<>(children.values());
        java.util.Collections.reverse(reversed);
        for (Child c : reversed) {
            Concurrency unit = c.unit;
            if (unit != null) {
                unit.stop(Concurrency.DEFAULT_STOP_TIMEOUT);
            }
        }
    }

    private static void awaitExit(Concurrency unit) {
        try {
            unit.onExit().get(Concurrency.DEFAULT_STOP_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("unit {} did not end in time: {}", unit.name(), e.toString());
        }
    }

    private void call(Runnable hook) {
        try {
            hook.run();
        } catch (RuntimeException e) {
            LOG.warn("supervisor {}: its listener threw", name, e);
        }
    }

    /** Stops every unit, in the reverse order of their start, and restarts none; waits for the supervisor's thread. */
    @Override
    public void close() {
        if (closed && thread.isShutdown()) {
            return;
        }
        closed = true;
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            thread.execute(() -> {
                stopAll();
                done.complete(null);
            });
            done.get(Concurrency.DEFAULT_STOP_TIMEOUT.toMillis() * (children.size() + 1), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            stopAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("supervisor {}: stopping its units did not finish: {}", name, e.toString());
        } finally {
            thread.shutdown();
        }
    }

    /** Describes a supervisor; {@link #start()} starts it. Not thread-safe. */
    public static final class Builder {
        private static final java.util.concurrent.atomic.AtomicInteger COUNTER = new java.util.concurrent.atomic.AtomicInteger();
        private final String name;
        private final Map<String, UnitBuilder> children = new LinkedHashMap<>();
        private Strategy strategy = Strategy.ONE_FOR_ONE;
        private Restart restart = Restart.PERMANENT;
        private int maxRestarts = 3;
        private Duration period = Duration.ofSeconds(5);
        private Duration initialBackoff = Duration.ofMillis(100);
        private Duration maxBackoff = Duration.ofSeconds(5);
        private SupervisorListener listener = new SupervisorListener() { };

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        /**
         * Adds a child started (and restarted) from {@code unit}, named after the unit's name. A
         * transport configuration without a file name gets one here, so every start binds the same
         * address.
         *
         * @throws IllegalArgumentException if a child of that name was added before
         */
        public Builder child(UnitBuilder unit) {
            UnitBuilder spec = Objects.requireNonNull(unit, "unit");
            if (children.containsKey(spec.name)) {
                throw new IllegalArgumentException("supervisor " + name + " has a child named " + spec.name + " already");
            }
            if (spec.transportConfig.fileName() == null) {
                spec.transportConfig(spec.transportConfig.toBuilder().fileName(spec.transportConfig.fileNamePrefix()
                        + ProcessHandle.current().pid() + "-s" + COUNTER.incrementAndGet() + ".sock").build());
            }
            children.put(spec.name, spec);
            return this;
        }

        /** Sets the strategy; default {@link Strategy#ONE_FOR_ONE}. */
        public Builder strategy(Strategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /** Sets which ends are restarted; default {@link Restart#PERMANENT}. */
        public Builder restart(Restart restart) {
            this.restart = Objects.requireNonNull(restart, "restart");
            return this;
        }

        /** At most {@code maxRestarts} (at least 0) restarts within {@code period} (positive); default 3 in 5 s. */
        public Builder intensity(int maxRestarts, Duration period) {
            if (maxRestarts < 0) {
                throw new IllegalArgumentException("maxRestarts must be at least 0, was: " + maxRestarts);
            }
            if (period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("period must be positive, was: " + period);
            }
            this.maxRestarts = maxRestarts;
            this.period = period;
            return this;
        }

        /** Restart delay: {@code initial} (0 or more), doubling per recent restart of a child, up to {@code max}; default 100 ms to 5 s. */
        public Builder backoff(Duration initial, Duration max) {
            if (initial.isNegative() || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("backoff must satisfy 0 <= initial <= max, was: " + initial + ", " + max);
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /** Sets the application's hook; default: none. */
        public Builder listener(SupervisorListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Starts every child at once ({@link Concurrency#startAll}) and then supervises them.
         *
         * @throws UnitException if a child failed to start (the others are stopped again)
         * @throws IllegalStateException if there are no children
         */
        public Supervisor start() {
            if (children.isEmpty()) {
                throw new IllegalStateException("supervisor " + name + " has no children; add them with child(...)");
            }
            return new Supervisor(this).startAll();
        }
    }
}
