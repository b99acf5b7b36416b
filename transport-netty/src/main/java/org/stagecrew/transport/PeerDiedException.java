package org.stagecrew.transport;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * A send failed because its destination went away without closing: the connection ended with no
 * {@code SHUTTING_DOWN} notice (end of stream or a reset), which is what a process killed with
 * SIGKILL or crashed leaves behind. Every frame still queued on that connection fails with it at
 * once. Frames that reached the socket before the death may or may not have been read by the peer;
 * the failed ones were not delivered. A destination that closes its transport normally says so
 * first, and its senders get a plain {@link TransportClosedException}.
 */
public class PeerDiedException extends TransportClosedException {
    private static final long serialVersionUID = 1L;

    private final Address peer;
    private final long pid;

    /**
     * Creates the exception.
     *
     * @param peer the destination that died
     * @param pid its owner's pid from the address's lock file, or -1 if not known
     * @param how how the connection ended, e.g. {@code "end of stream"}
     * @param cause the I/O error, or null
     */
    public PeerDiedException(Address peer, long pid, String how, Throwable cause) {
        super("send to " + Objects.requireNonNull(peer, "peer") + " failed: the destination"
                + (pid > 0 ? " (pid " + pid + ")" : "") + " died: its connection ended without a notice (" + how
                + "); frames not yet written fail, resend them once it is back", cause);
        this.peer = peer;
        this.pid = pid;
    }

    /** The destination that died. */
    public Address peer() {
        return peer;
    }

    /** The pid that owned the destination's address, read from its lock file; empty if not known. */
    public OptionalLong pid() {
        return pid > 0 ? OptionalLong.of(pid) : OptionalLong.empty();
    }
}
