package org.stagecrew.concurrency;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
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

    /** The unit's name. */
    String name();

    /**
     * Starts the unit and returns once its transport is bound and its address known.
     *
     * @throws UnitException if it cannot start or dies before it is ready, with the reason
     * @throws IllegalStateException if it was started before
     */
    Concurrency start();

    /**
     * The unit's address.
     *
     * @throws IllegalStateException before {@link #start()}
     */
    Address address();

    /** Waits up to {@code timeout} for the unit to end; returns whether it has ended. */
    boolean join(Duration timeout);

    /** Whether the unit has started and not yet ended. */
    boolean isAlive();

    /**
     * Asks the unit to stop and waits up to {@code timeout}; then stops it by force (SIGKILL for a
     * process, closing its transport for a thread). Returns whether it ended gracefully.
     */
    boolean stop(Duration timeout);

    /** Stops the unit at once: SIGKILL for a process; for a thread, closes its transport and interrupts it. */
    void kill();

    /** The exit status once ended: 0 when the task returned, 1 when it threw, a process's own code otherwise. */
    OptionalInt exitCode();

    /** Why the unit failed, once it has ended with a non-zero status. */
    Optional<Throwable> failure();

    /** The log file of a process or daemon unit (its standard output and error); empty for threads. */
    Optional<Path> logFile();

    /** Stops the unit if it runs (except a daemon), waiting up to {@link #DEFAULT_STOP_TIMEOUT}. */
    @Override
    void close();
}
