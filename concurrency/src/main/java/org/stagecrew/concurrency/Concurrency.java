package org.stagecrew.concurrency;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.transport.Address;

/**
 * An execution unit: a {@link Task} that runs concurrently in a thread, a child JVM, or a detached
 * daemon JVM, with a transport of its own. Made with {@link #thread}, {@link #process} or
 * {@link #daemon}, which return a {@link UnitBuilder}.
 *
 * <pre>{@code
 * try (Concurrency echo = Concurrency.process(EchoTask.class).peers(me.address()).start()) {
 *     me.send(echo.address(), payload, Duration.ofSeconds(5));
 * }
 * }</pre>
 *
 * <p>Thread-safe. Closing a unit stops it (gracefully, then forcibly) and releases what it holds;
 * closing is idempotent. A daemon unit is not stopped by {@link #close()}: it is meant to outlive
 * its starter; use {@link #stop} or {@link Daemons#stop}.
 *
 * <p><b>States and what each call does in them.</b> A unit is <i>not started</i>, <i>starting</i>
 * (inside {@link #start()}: a process unit's JVM runs but has not reported ready), <i>running</i>,
 * <i>stopping</i> (asked to stop, not yet ended) or <i>ended</i>. No call blocks past its timeout
 * (a process unit's {@code kill} waits up to 10 s for the killed process to be reaped).
 * <table>
 *   <caption>Calls by state</caption>
 *   <tr><th></th><th>not started</th><th>starting</th><th>running / stopping</th><th>ended</th></tr>
 *   <tr><td>{@code start}</td><td>starts it</td><td colspan="3">{@link IllegalStateException}, at once</td></tr>
 *   <tr><td>{@code stop}</td><td>true</td><td>SIGTERM (a thread unit: waits for the start);
 *       the start fails with {@link UnitException}</td><td>asks the task to stop, waits, then kills; true if it
 *       ended in time</td><td>true</td></tr>
 *   <tr><td>{@code kill}</td><td>nothing</td><td>SIGKILL; the start fails</td><td>SIGKILL / closes the
 *       transport and interrupts</td><td>nothing</td></tr>
 *   <tr><td>{@code close}</td><td>nothing</td><td colspan="2">{@code stop(DEFAULT_STOP_TIMEOUT)}, except for a daemon</td>
 *       <td>nothing</td></tr>
 *   <tr><td>{@code join}</td><td>false, at once</td><td colspan="2">waits up to the timeout</td><td>true</td></tr>
 *   <tr><td>{@code exitCode}</td><td colspan="3">empty</td><td>the status</td></tr>
 * </table>
 *
 * <p><b>Ending and its status.</b> A task that returns ends with 0. A task that throws ends with 1
 * and the exception as its failure, unless a stop had been requested and the exception is (or is
 * caused by) an interruption or the close of its transport: that is how a task notices a stop, and
 * it ends with 0. Anything else thrown while stopping is a failure. A process unit stopped by STOP or
 * SIGTERM exits with its task's status (0 for a clean stop, not 143). A failed {@code start()}
 * leaves no process behind; it is killed and reaped.
 *
 * <p><b>Socket files.</b> A unit's transport unlinks its socket files when it closes. When a process
 * unit's JVM ends without doing so (SIGKILL, from {@link #kill()} or from outside), the starting JVM
 * unlinks them, but only while they are still the files that unit created (same file key), never
 * those of a newer unit bound to the same name.
 */
public interface Concurrency extends AutoCloseable {

    /** Default time {@link #close()} gives a unit to stop gracefully: 10 s. */
    Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(10);

    /** A unit that runs {@code task} in a new thread of this JVM. */
    static UnitBuilder thread(Task task) {
        return UnitBuilder.forThread(task);
    }

    /**
     * A unit that runs a new instance of {@code task} in a new JVM with this JVM's {@code java} and
     * class path; it stops when this JVM exits.
     */
    static UnitBuilder process(Class<? extends Task> task) {
        return UnitBuilder.forProcess(task, false);
    }

    /**
     * A process unit detached from this JVM (its own session, no inherited standard streams) that
     * keeps running after this JVM exits; others reach it by its address.
     */
    static UnitBuilder daemon(Class<? extends Task> task) {
        return UnitBuilder.forProcess(task, true);
    }

    /**
     * Starts every unit at once, each from a thread of its own, and returns once all are ready, in
     * the order given. Process units' JVMs then start in parallel: 16 take little longer than one where
     * there are cores for them. All or none: if any fails to start, the others that did are stopped
     * again (daemons too), and this throws.
     *
     * @param units units built and not yet started, e.g. {@code List.of(a.build(), b.build())}
     * @return {@code units}, started
     * @throws UnitException if any failed to start; its message names them, its cause is the first
     *     failure and every failure is attached with {@link Throwable#addSuppressed}
     */
    static <U extends Concurrency> java.util.List<U> startAll(java.util.List<U> units) {
        return Starter.startAll(units);
    }

    /** The unit's name. */
    String name();

    /**
     * Starts the unit and returns once its transport is bound and its address known.
     *
     * <p>If it fails, is interrupted (the interrupt flag stays set) or is stopped or killed from
     * another thread while it waits, a process unit's child is killed and reaped before this throws.
     *
     * @throws UnitException if it cannot start or dies before it is ready, with the reason
     * @throws IllegalStateException if it was started before (also while that start is in progress)
     */
    Concurrency start();

    /**
     * The unit's address.
     *
     * @throws IllegalStateException before {@link #start()}
     */
    Address address();

    /**
     * Waits up to {@code timeout} for the unit to end; returns whether it has ended. Before {@link
     * #start()} it returns false at once.
     */
    boolean join(Duration timeout);

    /** Whether the unit has started and not yet ended. */
    boolean isAlive();

    /**
     * Asks the unit to stop and waits up to {@code timeout}; then stops it by force (SIGKILL for a
     * process, closing its transport for a thread). Returns whether it ended within the timeout; true
     * for a unit that was never started or has ended. A process unit that is still starting gets
     * SIGTERM, and its {@code start()} fails.
     */
    boolean stop(Duration timeout);

    /**
     * Stops the unit at once: SIGKILL for a process (also while it starts; returns once the process is
     * reaped, at most 10 s); for a thread, closes its transport and interrupts it. Does nothing to a
     * unit that was never started or has ended (in particular it never touches socket files of a
     * newer unit at the same address).
     */
    void kill();

    /**
     * The exit status once ended: 0 when the task returned or ended because it was asked to stop, 1
     * when it threw, a process's own code otherwise (137 after SIGKILL, 2 if it could not start).
     */
    OptionalInt exitCode();

    /** Why the unit failed, once it has ended with a non-zero status. */
    Optional<Throwable> failure();

    /**
     * A future completed once the unit has ended, however it ended (its task returned or threw, a
     * stop, a kill from here or from outside, a failed start), with its exit status, the signal that
     * killed a process, its failure and its uptime. For a process unit it completes after the unit's
     * socket files have been removed, so a new unit may bind the same address at once. Never
     * completes for a unit that is never started. Each call returns a new dependent future (completing
     * or cancelling it does not affect the unit); actions attached to it without an executor run on a
     * JDK process-reaper or the unit's own thread and must not block.
     */
    CompletableFuture<UnitExit> onExit();

    /**
     * The process id of a process or daemon unit's JVM once it has been launched; empty for a thread
     * unit and before {@link #start()}. It stays available after the process has ended (the id may
     * then be reused by the OS for another process).
     */
    OptionalLong pid();

    /** The log file of a process or daemon unit (its standard output and error); empty for threads. */
    Optional<Path> logFile();

    /** Stops the unit if it runs (except a daemon), waiting up to {@link #DEFAULT_STOP_TIMEOUT}. */
    @Override
    void close();
}
