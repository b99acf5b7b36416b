package org.stagecrew.testing;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.opentest4j.AssertionFailedError;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Daemons;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportConfig;

/**
 * The steps of one {@link Stage#close()}, and what they found: problems (which fail the close) and
 * notes (which are only printed). Each step runs even when an earlier one threw; what a step threw
 * is a problem, and is attached to the failure as a suppressed exception. Used by the closing
 * thread; the threads that stop units concurrently only add to its synchronized lists.
 */
final class Teardown {
    /** Beyond the graceful timeout: what a forced stop (SIGKILL and reaping) may take. */
    private static final Duration KILL_MARGIN = Duration.ofSeconds(15);
    /** How long a thread unit has to end after it was killed (its transport closed, its thread interrupted). */
    private static final Duration THREAD_KILL_GRACE = Duration.ofSeconds(2);
    /** How long a process the stage stopped has to exit once its stop was acknowledged (socket file gone). */
    private static final Duration EXIT_WAIT = Duration.ofSeconds(10);
    /** How long a killed leftover process has to end. */
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private final String stage;
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final List<String> notes = Collections.synchronizedList(new ArrayList<>());
    private final List<Throwable> errors = new ArrayList<>();
    private final Map<Long, ProcessHandle> stopped = new LinkedHashMap<>();

    Teardown(String stage) {
        this.stage = stage;
    }

    /** Runs one step; whatever it throws becomes a problem and the next step runs. */
    void step(String what, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException | Error e) {
            problems.add(what + " failed: " + e);
            errors.add(e);
        }
    }

    /** Remembers processes being stopped, which {@link #awaitStoppedProcesses()} waits for. */
    void stopping(List<ProcessHandle> processes) {
        processes.forEach(p -> stopped.putIfAbsent(p.pid(), p));
    }

    /**
     * Stops every live unit at once, each with {@code timeout} to stop gracefully before it is
     * killed; a stop that hangs is a problem, a unit that had to be killed a note, and a unit still
     * alive after its kill (a thread that ignores both stop and interrupt) a problem.
     */
    void stopUnits(List<Concurrency> units, Duration timeout) {
        Map<Concurrency, Thread> stoppers = new LinkedHashMap<>();
        List<String> killed = Collections.synchronizedList(new ArrayList<>());
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
        for (Concurrency unit : stoppers.keySet()) {
            if (!unit.join(THREAD_KILL_GRACE)) {
                problems.add(StageThreadUnit.isThreadUnit(unit) ? StageThreadUnit.describeSurvivor(unit)
                        : "unit " + unit.name() + " is still alive after it was killed");
            }
        }
    }

    /**
     * Asks {@code daemon} to stop, if something is bound to its address, and remembers the
     * processes bound to it so that {@link #awaitStoppedProcesses()} waits for them to exit.
     */
    void stopAdopted(Address daemon, TransportConfig config, Duration timeout) {
        boolean bound = daemon.isAbstract() ? Processes.mayBeBound(daemon) : Files.exists(daemon.toPath(), LinkOption.NOFOLLOW_LINKS);
        if (!bound) {
            return;
        }
        List<ProcessHandle> holders = Processes.socketHolders(daemon);
        if (Daemons.stop(daemon, config, timeout)) {
            stopping(holders);
        } else {
            notes.add("adopted daemon at " + daemon + " did not stop within " + timeout.toMillis() + " ms");
        }
    }

    /**
     * Waits for the processes the stage stopped to exit, since a daemon unlinks its socket file
     * before its JVM has ended; kills those still alive after {@link #EXIT_WAIT}, each a problem.
     */
    void awaitStoppedProcesses() {
        List<ProcessHandle> alive = Processes.awaitExit(stopped.values(), System.nanoTime() + EXIT_WAIT.toNanos());
        for (ProcessHandle p : alive) {
            problems.add("process asked to stop has not exited within " + EXIT_WAIT.toSeconds() + " s: " + Processes.describe(p)
                    + " — killed");
        }
        for (String survivor : Processes.kill(alive, KILL_WAIT)) {
            problems.add("process survived SIGKILL for " + KILL_WAIT.toSeconds() + " s: " + survivor);
        }
    }

    /**
     * Finds the processes left behind, kills them, and records one problem per process: the
     * processes this stage started (those whose command line carries {@code marker}, and their
     * descendants), processes holding a socket in {@code socketDirectory}, and, only when
     * {@code alone} (no other stage was open during this one's life, so no one else can have started
     * them), children of this JVM that appeared since {@code descendantsBefore} and carry no
     * stage's marker. Without {@code alone}, such children are left alone with a note: they may
     * belong to a test that is still running.
     */
    void leftoverProcesses(String marker, Set<Long> descendantsBefore, boolean alone, Path socketDirectory) {
        Map<Long, String> found = new LinkedHashMap<>();
        List<ProcessHandle> victims = new ArrayList<>();
        for (ProcessHandle p : Processes.markedWithDescendants(marker)) {
            if (found.putIfAbsent(p.pid(), "child process still alive after the test: " + Processes.describe(p)) == null) {
                victims.add(p);
            }
        }
        int unclaimed = 0;
        for (ProcessHandle p : Processes.newDescendants(descendantsBefore)) {
            if (found.containsKey(p.pid()) || Processes.isMarked(p, Stage.MARKER_PREFIX)) {
                continue; // ours (found above) or another stage's
            }
            if (!alone) {
                unclaimed++;
            } else if (found.putIfAbsent(p.pid(), "child process still alive after the test: " + Processes.describe(p)) == null) {
                victims.add(p);
            }
        }
        for (ProcessHandle p : Processes.socketHolders(socketDirectory)) {
            if (found.putIfAbsent(p.pid(), "process still holding a socket in " + socketDirectory + ": " + Processes.describe(p)) == null) {
                victims.add(p);
            }
        }
        if (unclaimed > 0) {
            notes.add(unclaimed + " new child process(es) of this JVM that no stage started were left alone, because other stages"
                    + " were open at the same time and may own them; Hygiene.assertClean() reports them at the end of the suite");
        }
        if (victims.isEmpty()) {
            return;
        }
        List<String> survivors = Processes.kill(victims, KILL_WAIT);
        for (String description : found.values()) {
            problems.add(description + " — killed");
        }
        for (String survivor : survivors) {
            problems.add("process survived SIGKILL for " + KILL_WAIT.toSeconds() + " s: " + survivor);
        }
    }

    /** Records a problem found by a step. */
    void problem(String problem) {
        problems.add(problem);
    }

    /**
     * Prints the notes and, if there are problems, throws them.
     *
     * @param logTails the tails of the stage's logs, appended to the failure message
     * @throws AssertionFailedError naming every problem, with what the steps threw as suppressed exceptions
     */
    void finish(String logTails) {
        if (!notes.isEmpty()) {
            System.err.println("[stagecrew] stage " + stage + ": " + String.join("; ", notes));
        }
        if (problems.isEmpty()) {
            return;
        }
        StringBuilder message = new StringBuilder("stage ").append(stage).append(" left ").append(problems.size())
                .append(" problem(s) behind:");
        problems.forEach(p -> message.append("\n  - ").append(p));
        notes.forEach(n -> message.append("\n  (note) ").append(n));
        if (!logTails.isEmpty()) {
            message.append('\n').append(logTails);
        }
        AssertionFailedError failure = new AssertionFailedError(message.toString());
        errors.forEach(failure::addSuppressed);
        throw failure;
    }
}
