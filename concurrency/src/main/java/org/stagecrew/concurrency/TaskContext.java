package org.stagecrew.concurrency;

import java.util.List;
import org.slf4j.Logger;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;

/**
 * What a running {@link Task} gets: its own open transport, the addresses and arguments it was
 * started with, and a logger. Methods are safe to call from any thread.
 */
public interface TaskContext {

    /** The unit's name. */
    String name();

    /** The unit's own transport, open for the whole of {@link Task#run}; the unit closes it. */
    Transport transport();

    /** The unit's own address, the same as {@code transport().address()}. */
    default Address address() {
        return transport().address();
    }

    /** The address of the unit that started this one, or {@code null} if it was started without one. */
    Address parent();

    /** The addresses this unit was given at start, in order. */
    List<Address> peers();

    /** The arguments this unit was given at start, in order. */
    List<String> arguments();

    /** A logger named after the unit ({@code org.stagecrew.unit.<name>}). */
    Logger logger();

    /** Whether the unit has been asked to stop; a long-running task should check it. */
    boolean isStopRequested();

    /**
     * Waits up to {@code timeout} for the unit to be asked to stop (STOP, SIGTERM, {@link
     * Concurrency#stop}, the parent's exit); returns whether it was. For a task whose work happens
     * elsewhere (worker threads, event handlers) and whose main thread only needs to wait for the end.
     * A stop request also interrupts the task's thread: if that interrupt arrives while this waits, it
     * is taken as the stop (this returns true and the thread's interrupt status is cleared).
     *
     * @throws InterruptedException if the thread is interrupted for any other reason
     */
    boolean awaitStop(java.time.Duration timeout) throws InterruptedException;
}
