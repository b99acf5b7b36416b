package org.stagecrew.concurrency;

/**
 * The code an execution unit runs, like the body of a thread or process. A process or daemon unit
 * instantiates its task class in the child JVM through a public no-argument constructor.
 */
@FunctionalInterface
public interface Task {

    /**
     * Runs the unit's work. The context's transport is open before this is called and is closed,
     * and its socket file unlinked, after it returns or throws. Returning normally ends the unit
     * with exit status 0; throwing ends it with status 1 and the exception as its failure.
     *
     * <p>A unit asked to stop sees {@link TaskContext#isStopRequested()} turn true and its thread
     * interrupted; a {@code receive} or {@code poll} it is blocked in then throws.
     *
     * @param context the unit's name, transport, parent and peers
     * @throws Exception anything: it ends the unit with status 1 and becomes its failure
     */
    void run(TaskContext context) throws Exception;
}
