package org.stagecrew.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.stagecrew.concurrency.Concurrency;

/** The stopping and process-hunting steps of {@link Stage#close()}. */
final class Teardown {
    /** Beyond the graceful timeout: what a forced stop (SIGKILL and reaping) may take. */
    private static final Duration KILL_MARGIN = Duration.ofSeconds(15);

    private Teardown() {
    }

    /**
     * Stops every live unit at once, each with {@code timeout} to stop gracefully before it is killed;
     * returns problems (a stop that hung) and adds notes (units that had to be killed).
     */
    static List<String> stopUnits(List<Concurrency> units, Duration timeout, List<String> notes) {
        List<String> problems = new ArrayList<>();
        Map<Concurrency, Thread> stoppers = new LinkedHashMap<>();
        List<String> killed = java.util.Collections.synchronizedList(new ArrayList<>());
        for (Concurrency unit : units) {
            if (!unit.isAlive()) {
                continue;
            }
            Thread stopper = new Thread(() -> {
                try {
                    if (!unit.stop(timeout)) {
                        killed.add(unit.name());
                    }
                } catch (RuntimeException e) {
                    killed.add(unit.name() + " (stop failed: " + e + ")");
                    unit.kill();
                }
            }, "stagecrew-stop-" + unit.name());
            stopper.setDaemon(true);
            stopper.start();
            stoppers.put(unit, stopper);
        }
        long deadline = System.nanoTime() + timeout.plus(KILL_MARGIN).toNanos();
        for (Map.Entry<Concurrency, Thread> e : stoppers.entrySet()) {
            try {
                e.getValue().join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            if (e.getValue().isAlive()) {
                problems.add("stopping unit " + e.getKey().name() + " did not finish within "
                        + timeout.plus(KILL_MARGIN).toSeconds() + " s");
            }
        }
        if (!killed.isEmpty()) {
            notes.add("unit(s) killed after not stopping within " + timeout.toMillis() + " ms: " + killed);
        }
        return problems;
    }

    /**
     * Finds the processes left behind (new children of this JVM; processes holding a socket in
     * {@code socketDirectory}), kills them and returns one problem per process.
     */
    static List<String> leftoverProcesses(Set<Long> descendantsBefore, Path socketDirectory, Duration killWait) {
        Map<Long, String> found = new LinkedHashMap<>();
        List<ProcessHandle> victims = new ArrayList<>();
        for (ProcessHandle p : Processes.newDescendants(descendantsBefore)) {
            if (found.putIfAbsent(p.pid(), "child process still alive after the test: " + Processes.describe(p)) == null) {
                victims.add(p);
            }
        }
        for (ProcessHandle p : Processes.socketHolders(socketDirectory)) {
            if (found.putIfAbsent(p.pid(), "process still holding a socket in " + socketDirectory + ": " + Processes.describe(p)) == null) {
                victims.add(p);
            }
        }
        if (victims.isEmpty()) {
            return List.of();
        }
        List<String> survivors = Processes.kill(victims, killWait);
        List<String> problems = new ArrayList<>();
        for (String description : found.values()) {
            problems.add(description + " — killed");
        }
        for (String survivor : survivors) {
            problems.add("process survived SIGKILL for " + killWait.toSeconds() + " s: " + survivor);
        }
        return problems;
    }
}
