package org.stagecrew.transport;

import java.util.function.Predicate;

/** A {@link PeerPolicy} that says what it is in refusals and logs, e.g. {@code sameUser or uids(65534)}. */
final class NamedPeerPolicy implements PeerPolicy {
    private final String name;
    private final Predicate<PeerCredentials> test;

    NamedPeerPolicy(String name, Predicate<PeerCredentials> test) {
        this.name = name;
        this.test = test;
    }

    @Override
    public boolean allows(PeerCredentials peer) {
        return test.test(peer);
    }

    @Override
    public String toString() {
        return name;
    }
}
