package org.stagecrew.transport;

import java.util.Arrays;
import java.util.Objects;

/**
 * Decides which peers may connect to a transport, from their kernel-verified
 * {@link PeerCredentials}. A refused peer gets a {@code NOT_ALLOWED} answer with the reason, and the
 * transport logs it (uid, pid) and counts it. The default, {@link #sameUser()}, admits only this
 * process's own user; combine policies with {@link #or}.
 *
 * <p>Called on an event loop thread for every accepted connection: it must be fast and must not block.
 */
@FunctionalInterface
public interface PeerPolicy {

    /** Returns whether the peer may connect. */
    boolean allows(PeerCredentials peer);

    /** Admits the peer if this policy or {@code other} does. */
    default PeerPolicy or(PeerPolicy other) {
        Objects.requireNonNull(other, "other");
        return peer -> allows(peer) || other.allows(peer);
    }

    /** Only peers running as this process's user (the default). */
    static PeerPolicy sameUser() {
        return SameUser.INSTANCE;
    }

    /** Peers running as root (uid 0); use as {@code sameUser().or(root())} to let root in. */
    static PeerPolicy root() {
        return uids(0);
    }

    /** Peers running as one of {@code uids}. */
    static PeerPolicy uids(int... uids) {
        int[] allowed = uids.clone();
        return peer -> peer.uid() >= 0 && Arrays.stream(allowed).anyMatch(u -> u == peer.uid());
    }

    /** Peers whose primary group is one of {@code gids}. */
    static PeerPolicy gids(int... gids) {
        int[] allowed = gids.clone();
        return peer -> peer.gid() >= 0 && Arrays.stream(allowed).anyMatch(g -> g == peer.gid());
    }

    /** Every peer that can open the socket file; file permissions (0600) are then the only guard. */
    static PeerPolicy anyone() {
        return peer -> true;
    }

    /** The policy behind {@link #sameUser()}, with its own name in messages. */
    final class SameUser implements PeerPolicy {
        static final SameUser INSTANCE = new SameUser();

        private SameUser() {
        }

        @Override
        public boolean allows(PeerCredentials peer) {
            int self = ProcessIdentity.uid();
            if (peer.uid() >= 0 && self >= 0) {
                return peer.uid() == self;
            }
            return peer.user() != null && peer.user().equals(System.getProperty("user.name"));
        }

        @Override
        public String toString() {
            return "sameUser";
        }
    }
}
