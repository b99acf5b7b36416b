package org.stagecrew.transport;

import java.util.Map;
import java.util.Objects;

/**
 * The counters of one peer of a transport, in one direction: a destination it sends to, or a
 * sender it receives from; an immutable snapshot. Keys are {@link TransportCounter#label()}s, with
 * {@code .detail} for counters kept per detail (e.g. {@code sendsFailed.PeerDiedException}).
 *
 * @param peer the destination or sender
 * @param direction whether this transport sends to the peer or receives from it
 * @param counters the values by key; counters never touched may be absent
 */
public record PeerStats(Address peer, Direction direction, Map<String, Long> counters) {

    /** Which way frames travel between the transport and the peer. */
    public enum Direction {
        /** The transport sends to the peer. */
        TO,
        /** The transport receives from the peer. */
        FROM
    }

    /** Copies {@code counters}, so the snapshot cannot change. */
    public PeerStats {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(direction, "direction");
        counters = Map.copyOf(Objects.requireNonNull(counters, "counters"));
    }

    /** The value of {@code counter}, summed over its details; 0 if absent. */
    public long get(TransportCounter counter) {
        return TransportStats.sum(counters, counter);
    }
}
