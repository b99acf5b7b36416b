package org.stagecrew.concurrency;

/**
 * The application's hook into a {@link Supervisor}: told of every exit, restart and of giving up.
 * Called on the supervisor's own thread, one call at a time, in order; a call should return quickly
 * (the next restart waits for it). A listener that throws is logged and does not change what the
 * supervisor does. Every method does nothing by default.
 */
public interface SupervisorListener {

    /** {@code child}'s unit ended; a restart may follow. */
    default void unitExited(String child, UnitExit exit) {
    }

    /** {@code child} runs again, as {@code unit}, at its address; {@code restart} counts from 1 per child. */
    default void unitRestarted(String child, Concurrency unit, int restart) {
    }

    /** The supervisor gave up and stopped every unit; see {@link Supervisor#onGiveUp()}. */
    default void gaveUp(Supervisor.GiveUp giveUp) {
    }
}
