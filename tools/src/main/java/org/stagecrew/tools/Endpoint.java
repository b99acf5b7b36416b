package org.stagecrew.tools;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.OptionalLong;

/**
 * One endpoint of a socket directory as seen from outside its process: its socket file, whether a
 * live process owns it, that process and its user. Immutable.
 */
final class Endpoint {
    /** Who holds the address. */
    enum State {
        /** A live process holds the address lock. */
        LIVE,
        /** Nobody holds the lock: the owner died (or closed without removing its files); {@code clean} removes them. */
        STALE,
        /** A socket file without a lock file (another program, or a listener that is not a stagecrew transport). */
        UNLOCKED
    }

    final Path socketFile;
    final State state;
    /** The owner's pid: the live holder of the lock, or the dead one the lock file names. */
    final OptionalLong pid;
    final String user;
    /** When the live owner started, or null. */
    final Instant started;

    Endpoint(Path socketFile, State state, OptionalLong pid, String user, Instant started) {
        this.socketFile = socketFile;
        this.state = state;
        this.pid = pid;
        this.user = user;
        this.started = started;
    }

    /** How long the live owner has run, or null. */
    Duration uptime(Instant now) {
        return started == null ? null : Duration.between(started, now);
    }
}
