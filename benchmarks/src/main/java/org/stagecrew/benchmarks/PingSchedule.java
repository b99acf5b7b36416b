package org.stagecrew.benchmarks;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;

/**
 * When each ping of a ping-pong goes out and what its round trip is recorded as. Back to back,
 * each ping leaves when the previous answer arrived and its time is measured from then. Paced,
 * ping {@code i} is intended to leave at {@code start + i * interval}: it waits for that time, or
 * leaves at once if the answers are late, and its round trip is measured from the intended time,
 * not from when it actually left. A stall therefore counts once for every ping it held back, as
 * a user sending at that rate would see it: the correction for coordinated omission (Gil Tene's
 * "How NOT to measure latency"; HdrHistogram's {@code recordValueWithExpectedInterval} corrects a
 * back-to-back recording after the fact, this corrects it at the source).
 *
 * <p>Used by one thread. Waiting for an intended time spins, or parks first when it is more than
 * 250 µs away (and spins the last 100 µs: a parked thread here wakes up to ~100 µs late).
 */
final class PingSchedule {
    /** Waits longer than this park for all but {@link #SPIN_NANOS} of it; shorter ones spin. */
    private static final long PARK_ABOVE_NANOS = 250_000;
    private static final long SPIN_NANOS = 100_000;
    private final LongSupplier clock;
    private final long intervalNanos;
    private final Histogram histogram;
    private long start;
    private long pings;

    PingSchedule(LongSupplier clock, long intervalNanos, Histogram histogram) {
        if (intervalNanos < 0) {
            throw new IllegalArgumentException("intervalNanos must be at least 0 (0: back to back), was: " + intervalNanos);
        }
        this.clock = clock;
        this.intervalNanos = intervalNanos;
        this.histogram = histogram;
    }

    /** Each ping as soon as the previous answer arrived, timed from when it left. */
    static PingSchedule backToBack(Histogram histogram) {
        return new PingSchedule(System::nanoTime, 0, histogram);
    }

    /** One ping every {@code intervalNanos}, timed from its intended send time. */
    static PingSchedule paced(long intervalNanos, Histogram histogram) {
        return new PingSchedule(System::nanoTime, intervalNanos, histogram);
    }

    /**
     * The interval that offers half the rate a back-to-back run reached: twice its mean round trip,
     * at least 1 µs.
     */
    static long halfRateInterval(Histogram backToBack) {
        return Math.max(1_000, Math.round(2 * backToBack.getMean()));
    }

    /**
     * Waits until the next ping's intended send time and returns the time its round trip is
     * measured from: now when back to back; the intended time when paced (in the past when late).
     */
    long nextSend() {
        long now = clock.getAsLong();
        if (intervalNanos == 0) {
            return now;
        }
        if (pings == 0) {
            start = now;
        }
        long intended = start + pings++ * intervalNanos;
        if (intended - now > PARK_ABOVE_NANOS) {
            // A long wait parks for most of it: a pinger spinning for hundreds of microseconds takes the CPU that the
            // echo side needs on a 2-vCPU machine. Waking late is no error: it is measured from the intended time.
            LockSupport.parkNanos(intended - now - SPIN_NANOS);
            now = clock.getAsLong();
        }
        while (now - intended < 0) {
            Thread.onSpinWait();
            now = clock.getAsLong();
        }
        return intended;
    }

    /** Records the round trip of the ping whose {@link #nextSend()} returned {@code sentAt}, answered now. */
    void recordReply(long sentAt) {
        histogram.recordValue(Math.min(clock.getAsLong() - sentAt, histogram.getHighestTrackableValue()));
    }

    /** Nanoseconds between intended sends; 0 when back to back. */
    long intervalNanos() {
        return intervalNanos;
    }
}
