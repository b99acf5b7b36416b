package org.stagecrew.transport.netty;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.stagecrew.transport.Address;

/**
 * Counts, per sender, the whole received frames that a closing transport throws away unconsumed,
 * and says when throwing away has begun: from {@link #startDiscarding()} on, decoders count what
 * they read instead of handing it on. Thread-safe; counting allocates only for a sender's first
 * discarded frame.
 */
final class Discards {
    private final ConcurrentHashMap<Address, LongAdder> bySender = new ConcurrentHashMap<>();
    private final TransportCounters counters;
    private volatile boolean discarding;

    /** Discards counted nowhere else; for pipelines without a transport. */
    Discards() {
        this(TransportCounters.DETACHED);
    }

    /** Discards counted in {@code counters} too ({@link org.stagecrew.transport.TransportCounter#FRAMES_DISCARDED}). */
    Discards(TransportCounters counters) {
        this.counters = counters;
    }

    /** The transport's counters, which the inbox and the decoders update too. */
    TransportCounters counters() {
        return counters;
    }

    /** From now on, frames read from the sockets are counted and released instead of delivered. */
    void startDiscarding() {
        discarding = true;
    }

    /** Whether frames read now are to be counted and released instead of delivered. */
    boolean isDiscarding() {
        return discarding;
    }

    /** Counts {@code frames} frames of {@code sender} as discarded. */
    void add(Address sender, long frames) {
        if (frames > 0) {
            bySender.computeIfAbsent(sender, s -> new LongAdder()).add(frames);
            counters.discarded(sender, frames);
        }
    }

    /** The sum over all senders. */
    long total() {
        long total = 0;
        for (LongAdder frames : bySender.values()) {
            total += frames.sum();
        }
        return total;
    }

    /** An immutable copy of the counts, without senders whose count is zero. */
    Map<Address, Long> snapshot() {
        Map<Address, Long> copy = new HashMap<>();
        bySender.forEach((sender, frames) -> copy.put(sender, frames.sum()));
        return Map.copyOf(copy);
    }

    /** Logs one line per sender with the frames discarded from it. */
    void log(Logger log, Address receiver) {
        bySender.forEach((sender, frames) -> log.warn("transport {} closed with {} frame(s) from {} received but not consumed;"
                + " they are discarded (closeGracefully would have let the application drain them)", receiver, frames.sum(),
                Failures.describe(sender)));
    }
}
