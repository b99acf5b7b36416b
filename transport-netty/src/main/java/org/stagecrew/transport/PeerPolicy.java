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
        return new NamedPeerPolicy(this + " or " + other, peer -> allows(peer) || other.allows(peer));
    }

    /** Only peers running as this process's user (the default). */
    static PeerPolicy sameUser() {
        return SameUser.INSTANCE;
    }

    /** Peers running as root (uid 0); use as {@code sameUser().or(root())} to let root in. */
    static PeerPolicy root() {
        return new NamedPeerPolicy("root", peer -> peer.uid() == 0);
    }

    /**
     * Peers running as one of {@code uids}. In NIO mode the JDK reports user names, not numbers: a
     * foreign uid is unknown (-1) there and never matches; use {@link #users} or a native mode.
     */
    static PeerPolicy uids(int... uids) {
        int[] allowed = uids.clone();
        return new NamedPeerPolicy("uids" + Arrays.toString(allowed),
                peer -> peer.uid() >= 0 && Arrays.stream(allowed).anyMatch(u -> u == peer.uid()));
    }

    /** Peers whose primary group is one of {@code gids}; unknown in NIO mode, as for {@link #uids}. */
    static PeerPolicy gids(int... gids) {
        int[] allowed = gids.clone();
        return new NamedPeerPolicy("gids" + Arrays.toString(allowed),
                peer -> peer.gid() >= 0 && Arrays.stream(allowed).anyMatch(g -> g == peer.gid()));
    }

    /** Peers whose user name is one of {@code names}; known only in NIO mode, where the JDK reports names. */
    static PeerPolicy users(String... names) {
        java.util.List<String> allowed = java.util.List.of(names);
        return new NamedPeerPolicy("users" + allowed, peer -> peer.user() != null && allowed.contains(peer.user()));
    }

    /** Every peer that can open the socket file; file permissions (0600) are then the only guard. */
    static PeerPolicy anyone() {
        return ANYONE;
    }

    /** The policy behind {@link #anyone()}. */
    PeerPolicy ANYONE = new NamedPeerPolicy("anyone", peer -> true);

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
