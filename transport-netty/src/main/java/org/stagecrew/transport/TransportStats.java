package org.stagecrew.transport;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Counters of a transport since it opened; an immutable snapshot, not live.
 *
 * <p>The first four components are the listening side's counters; {@link #totals()} and {@link
 * #peers()} hold the live counters of {@link TransportCounter}, per transport and per peer. Per-peer
 * records are kept while the peer has a connection, and afterwards until their room in the counters
 * file is needed by a new peer or the transport closes; the totals count every peer ever seen.
 *
 * @param connectionsAccepted connections whose hello was accepted
 * @param connectionsRejected connections answered with a rejection: peer not allowed, too many
 *     connections, malformed or late hello, unsupported version
 * @param protocolErrors accepted connections closed for breaking the protocol (e.g. a frame above
 *     {@code maxFrameLength})
 * @param discardedFrames per sender, the whole frames that this transport had received (read from
 *     the socket, in the inbox, or in the batch a consumer was walking) and threw away unconsumed
 *     because it was closed; senders without any are absent. See {@link Transport#close()}.
 * @param totals the transport's {@link TransportCounter} values by key ({@link TransportCounter#label()},
 *     with {@code .detail} for counters kept per detail); counters never touched may be absent
 * @param peers the per-peer counters, one entry per (peer, direction)
 */
public record TransportStats(long connectionsAccepted, long connectionsRejected, long protocolErrors,
        Map<Address, Long> discardedFrames, Map<String, Long> totals, List<PeerStats> peers) {

    /** Copies the maps and the list, so the snapshot cannot change. */
    public TransportStats {
        discardedFrames = Map.copyOf(Objects.requireNonNull(discardedFrames, "discardedFrames"));
        totals = Map.copyOf(Objects.requireNonNull(totals, "totals"));
        peers = List.copyOf(Objects.requireNonNull(peers, "peers"));
    }

    /** Counters with discarded frames but no live counters. */
    public TransportStats(long connectionsAccepted, long connectionsRejected, long protocolErrors,
            Map<Address, Long> discardedFrames) {
        this(connectionsAccepted, connectionsRejected, protocolErrors, discardedFrames, Map.of(), List.of());
    }

    /** Counters with no discarded frames and no live counters. */
    public TransportStats(long connectionsAccepted, long connectionsRejected, long protocolErrors) {
        this(connectionsAccepted, connectionsRejected, protocolErrors, Map.of());
    }

    /** The sum of {@link #discardedFrames()} over all senders. */
    public long discardedFramesTotal() {
        long total = 0;
        for (long frames : discardedFrames.values()) {
            total += frames;
        }
        return total;
    }

    /** The transport's value of {@code counter}, summed over its details; 0 if absent. */
    public long get(TransportCounter counter) {
        return sum(totals, counter);
    }

    /** The counters of {@code peer} in {@code direction}, if the transport keeps a record of it. */
    public Optional<PeerStats> peer(Address peer, PeerStats.Direction direction) {
        for (PeerStats p : peers) {
            if (p.peer().equals(peer) && p.direction() == direction) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    static long sum(Map<String, Long> values, TransportCounter counter) {
        Long plain = values.get(counter.label());
        long total = plain == null ? 0 : plain;
        if (counter.hasDetail()) {
            String prefix = counter.label() + '.';
            for (Map.Entry<String, Long> e : values.entrySet()) {
                if (e.getKey().startsWith(prefix)) {
                    total += e.getValue();
                }
            }
        }
        return total;
    }
}
