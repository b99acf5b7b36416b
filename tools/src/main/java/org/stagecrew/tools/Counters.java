package org.stagecrew.tools;

import java.nio.file.Path;
import java.util.Optional;
import org.stagecrew.transport.PeerStats;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.netty.NettyTransports;

/**
 * Reads an endpoint's counters file ({@code <socket>.counters}) without connecting: what {@code
 * stat}, {@code top} and {@code ls} show. A stopped or hung owner's counters are read as they
 * stand; a dead owner's file shows its last counters until {@code clean} or a new owner removes it.
 */
final class Counters {
    private Counters() {
    }

    /** The counters of the endpoint at {@code socketFile}, or empty if it has no counters file. */
    static Optional<TransportStats> read(Path socketFile) {
        try {
            return NettyTransports.readCounters(socketFile);
        } catch (TransportException e) {
            throw new ToolException(e.getMessage() + "; remove it with 'stagecrew clean' if its owner is gone");
        }
    }

    /** Peers with a connection open now, in either direction. */
    static long connectedPeers(TransportStats stats) {
        return stats.peers().stream().filter(p -> p.get(TransportCounter.CONNECTIONS_ACTIVE) > 0)
                .map(PeerStats::peer).distinct().count();
    }

    /** {@code 1234}, {@code 12.3k}, {@code 4.5M}, {@code 6.7G}: four significant characters or so. */
    static String human(double value) {
        double v = Math.abs(value);
        if (v < 10_000) {
            return value == Math.rint(value) ? Long.toString((long) value) : String.format("%.1f", value);
        }
        if (v < 10_000_000) {
            return String.format("%.1fk", value / 1e3);
        }
        if (v < 10_000_000_000L) {
            return String.format("%.1fM", value / 1e6);
        }
        return String.format("%.1fG", value / 1e9);
    }
}
