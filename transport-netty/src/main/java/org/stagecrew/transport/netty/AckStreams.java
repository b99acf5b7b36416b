package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import java.security.SecureRandom;
import java.util.Iterator;
import java.util.LinkedHashMap;
import org.stagecrew.transport.Address;

/**
 * The listening side of acknowledged delivery (protocol version 2, kind STREAM): this transport's
 * incarnation, and one {@link AckStream} per sender address, which numbers the frames received
 * from it, deduplicates them across reconnects and acknowledges what the application consumed.
 *
 * <p>A sender's stream is kept while it has a connection, and afterwards for as long as it is among
 * the {@value #MAX_IDLE_STREAMS} most recently used idle streams, so that a sender that reconnects
 * resumes where this incarnation left off; the memory held is bounded by that number. A new stream
 * incarnation from the same address replaces the old one. Thread-safe.
 */
final class AckStreams {
    /** Idle streams (no connection) kept for senders that reconnect; the oldest beyond this are dropped. */
    static final int MAX_IDLE_STREAMS = 1024;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final long incarnation;
    private final Discards discards;
    /** In access order, so that the least recently attached idle streams are dropped first. Guarded by this. */
    private final LinkedHashMap<Address, AckStream> streams = new LinkedHashMap<>(16, 0.75f, true);

    AckStreams(Discards discards) {
        this.discards = discards;
        long id;
        do {
            id = RANDOM.nextLong();
        } while (id == 0);
        this.incarnation = id;
    }

    /** This listener's incarnation: a new random number each time a transport opens, never 0. */
    long incarnation() {
        return incarnation;
    }

    /** Whether acknowledgements must stop: the transport is closing, and what it still holds is discarded. */
    boolean isClosing() {
        return discards.isDiscarding();
    }

    /**
     * Attaches a new connection of {@code sender}'s stream {@code streamIncarnation}, whose oldest
     * unacknowledged frame is {@code firstSequence}; from now on frames of that stream are taken from
     * {@code channel} only. Returns the stream; its {@link AckStream#resume()} says where the sender
     * must resume.
     */
    synchronized AckStream attach(Address sender, long streamIncarnation, long firstSequence, Channel channel) {
        AckStream stream = streams.get(sender);
        if (stream == null || stream.incarnation() != streamIncarnation) {
            stream = new AckStream(this, sender, streamIncarnation);
            streams.put(sender, stream);
        }
        stream.attach(channel, firstSequence);
        dropOldIdle();
        return stream;
    }

    /** Streams known; for tests. */
    synchronized int size() {
        return streams.size();
    }

    private void dropOldIdle() {
        int idle = 0;
        for (AckStream s : streams.values()) {
            if (s.isIdle()) {
                idle++;
            }
        }
        for (Iterator<AckStream> it = streams.values().iterator(); idle > MAX_IDLE_STREAMS && it.hasNext(); ) {
            if (it.next().isIdle()) {
                it.remove();
                idle--;
            }
        }
    }
}
