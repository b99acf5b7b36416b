package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import java.util.concurrent.atomic.LongAdder;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;
import org.stagecrew.transport.TransportStats;

/**
 * Decides, when a connection is accepted and before its hello is read, whether it may stay: its
 * kernel-verified credentials against the {@link PeerPolicy}, and the number of connections
 * against the cap. Counts what it admits and refuses. Thread-safe.
 */
final class Admission {
    /** Admits every peer, without a cap; for {@link FrameCodec#listenerHello} in a user's pipeline. */
    static final Admission OPEN = new Admission(null, PeerPolicy.anyone(), Integer.MAX_VALUE);

    private final IoBackend backend;
    private final PeerPolicy policy;
    private final int maxConnections;
    private final LongAdder accepted = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder protocolErrors = new LongAdder();
    private final LongAdder open = new LongAdder();
    private final TransportCounters counters;

    Admission(IoBackend backend, PeerPolicy policy, int maxConnections) {
        this(backend, policy, maxConnections, TransportCounters.DETACHED);
    }

    Admission(IoBackend backend, PeerPolicy policy, int maxConnections, TransportCounters counters) {
        this.counters = counters;
        this.backend = backend;
        this.policy = policy;
        this.maxConnections = maxConnections;
    }

    /** The outcome for one connection: credentials, and a rejection code and reason or none. */
    record Verdict(PeerCredentials credentials, int code, String reason) {
        boolean admitted() {
            return code == Protocol.ACCEPTED;
        }
    }

    /** Judges a newly accepted channel; on its event loop. A rejected channel's count is released by the caller closing it. */
    Verdict judge(Channel channel) {
        PeerCredentials credentials = IoBackend.peerCredentials(backend, channel);
        if (credentials == null) {
            credentials = new PeerCredentials(-1, -1, -1); // unreadable: only a policy that needs nothing admits it
        }
        if (!policy.allows(credentials)) {
            return new Verdict(credentials, Protocol.NOT_ALLOWED, "peer (" + credentials + ") is not allowed by the peer policy "
                    + policy + " of this transport");
        }
        open.increment();
        channel.closeFuture().addListener(f -> open.decrement());
        if (open.sum() > maxConnections) {
            return new Verdict(credentials, Protocol.TOO_MANY_CONNECTIONS, "this transport holds its maximum of "
                    + maxConnections + " connections");
        }
        return new Verdict(credentials, Protocol.ACCEPTED, "");
    }

    void accepted() {
        accepted.increment();
    }

    /** A connection was rejected with notice {@code code}. */
    void rejected(int code) {
        rejected.increment();
        counters.addDetail(org.stagecrew.transport.TransportCounter.CONNECTIONS_REJECTED, code, 1);
    }

    /** The transport's live counters. */
    TransportCounters counters() {
        return counters;
    }

    void protocolError() {
        protocolErrors.increment();
    }

    TransportStats stats() {
        return new TransportStats(accepted.sum(), rejected.sum(), protocolErrors.sum());
    }
}
