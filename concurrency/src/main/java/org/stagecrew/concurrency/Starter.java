package org.stagecrew.concurrency;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** {@link Concurrency#startAll}: one starting thread per unit, all or none. */
final class Starter {
    /** How long the units that did start get to stop when another one failed. */
    static final Duration UNDO_STOP_TIMEOUT = Duration.ofSeconds(10);

    private Starter() {
    }

    static <U extends Concurrency> List<U> startAll(List<U> units) {
        List<U> list = List.copyOf(units);
        list.forEach(u -> Objects.requireNonNull(u, "unit"));
        if (list.isEmpty()) {
            return list;
        }
        AtomicInteger counter = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(list.size(), task -> {
            Thread t = new Thread(task, "stagecrew-startAll-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<CompletableFuture<Throwable>> starts = new ArrayList<>();
            for (U unit : list) {
                starts.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        unit.start();
                        return null;
                    } catch (Throwable t) {
                        return t;
                    }
                }, threads));
            }
            List<Throwable> failures = new ArrayList<>();
            List<U> started = new ArrayList<>();
            boolean interrupted = false;
            for (int i = 0; i < list.size(); i++) {
                Throwable failure;
                while (true) {
                    try {
                        failure = starts.get(i).get(); // each start is bounded by its own start timeout
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true; // finish collecting: no unit may be left half started
                    } catch (java.util.concurrent.ExecutionException e) {
                        failure = e.getCause();
                        break;
                    }
                }
                if (failure == null) {
                    started.add(list.get(i));
                } else {
                    failures.add(failure);
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (failures.isEmpty()) {
                return list;
            }
            for (U unit : started) {
                unit.stop(UNDO_STOP_TIMEOUT);
            }
            UnitException all = new UnitException(failures.size() + " of " + list.size() + " units failed to start ("
                    + describe(list, started) + "); the " + started.size() + " that started were stopped again; every reason"
                    + " is attached as a suppressed exception", failures.get(0));
            failures.forEach(all::addSuppressed);
            throw all;
        } finally {
            threads.shutdown();
        }
    }

    private static String describe(List<? extends Concurrency> all, List<? extends Concurrency> started) {
        List<String> failed = new ArrayList<>();
        for (Concurrency unit : all) {
            if (!started.contains(unit)) {
                failed.add(unit.name());
            }
        }
        return "failed: " + String.join(", ", failed);
    }
}
