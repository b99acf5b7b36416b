package org.stagecrew.transport;

import java.util.Map;
import java.util.Objects;

/**
 * Counters of a transport's listening side since it opened; an immutable snapshot, not live.
 *
 * @param connectionsAccepted connections whose hello was accepted
 * @param connectionsRejected connections answered with a rejection: peer not allowed, too many
 *     connections, malformed or late hello, unsupported version
 * @param protocolErrors accepted connections closed for breaking the protocol (e.g. a frame above
 *     {@code maxFrameLength})
 * @param discardedFrames per sender, the whole frames that this transport had received (read from
 *     the socket, in the inbox, or in the batch a consumer was walking) and threw away unconsumed
 *     because it was closed; senders without any are absent. See {@link Transport#close()}.
 */
public record TransportStats(long connectionsAccepted, long connectionsRejected, long protocolErrors,
        Map<Address, Long> discardedFrames) {

    /** Copies {@code discardedFrames}, so the snapshot cannot change. */
    public TransportStats {
        discardedFrames = Map.copyOf(Objects.requireNonNull(discardedFrames, "discardedFrames"));
    }

    /** Counters with no discarded frames. */
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
}
