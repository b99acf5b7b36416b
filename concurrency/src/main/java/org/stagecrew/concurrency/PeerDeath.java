package org.stagecrew.concurrency;

import java.util.Objects;
import org.stagecrew.transport.Address;

/**
 * The death of a peer that {@link DeathWatch#watch} watched.
 *
 * @param address the watched address
 * @param pid the process that owned it, as its lock file said
 * @param closedItsTransport whether the socket file was gone when the death was seen: the peer closed
 *     its transport before it ended (an orderly stop); false after SIGKILL or a crash (unless its
 *     starter already removed the file it left)
 * @param reason a sentence for logs, e.g. {@code process 4242, owner of /run/x.sock, ended without
 *     closing its transport (killed or crashed)}
 */
public record PeerDeath(Address address, long pid, boolean closedItsTransport, String reason) {
    /** Validates the fields. */
    public PeerDeath {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(reason, "reason");
    }
}
