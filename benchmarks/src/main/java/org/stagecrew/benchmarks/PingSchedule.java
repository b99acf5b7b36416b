package org.stagecrew.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * <p>A paced schedule also counts the pings that left late: more than {@link #LATE_NANOS} after
 * their intended time, because the previous answer came after it (the loop was behind) or the
 * pinger itself woke or ran late. Their share tells whether the offered rate was actually offered:
 * with many late pings the paced percentiles measure a backlog, not the transport at that rate.
 * The intended times never move, so a loop that fell behind catches up only as fast as answers
 * come back faster than the interval; a rate too close to the back-to-back one never lets it.
 *
 * <p>Used by one thread. Waiting for an intended time spins, or, if the schedule parks, parks first
 * when it is more than 100 µs away, and spins the last 60 µs. A pinger that spun through its whole wait took a vCPU
 * for most of each interval (three quarters of it at a quarter of the back-to-back rate) from the
 * event loops and threads it measures, on a 2-vCPU machine; the scheduler then made up for it with
 * stalls of milliseconds. Before its first park the thread's timer slack is lowered to 1 µs (Linux,
 * {@code /proc/<tid>/timerslack_ns}, best effort): with the default 50 µs a park here overslept by
 * 75 µs at the median, with 1 µs by 30 µs, inside the spin margin. A busy-polling variant's schedule
 * never parks: its event loops spin anyway, and a parked pinger paid an idle vCPU's wake-up that the
 * mode exists to avoid (its paced pings left late 14–88 % of the time, against 4–8 % for the busy
 * JDK baseline, whose shorter interval never parked).
 */
final class PingSchedule {
    /** Waits longer than this park for all but {@link #SPIN_NANOS} of it; shorter ones spin. */
    private static final long PARK_ABOVE_NANOS = 100_000;
    private static final long SPIN_NANOS = 60_000;
    /** The timer slack a parking pinger asks for, in nanoseconds. */
    private static final String TIMER_SLACK_NANOS = "1000";
    /** A paced ping that leaves more than this after its intended time counts as late. */
    static final long LATE_NANOS = 1_000;
    private final LongSupplier clock;
    private final long intervalNanos;
    private final Histogram histogram;
    private long start;
    private long pings;
    private long late;
    private long maxLateness;
    private boolean slackLowered;
    /** Whether long waits park; otherwise every wait spins. */
    private final boolean parks;
    private long parkedWaits;

    PingSchedule(LongSupplier clock, long intervalNanos, Histogram histogram) {
        this(clock, intervalNanos, histogram, true);
    }

    PingSchedule(LongSupplier clock, long intervalNanos, Histogram histogram, boolean parks) {
        if (intervalNanos < 0) {
            throw new IllegalArgumentException("intervalNanos must be at least 0 (0: back to back), was: " + intervalNanos);
        }
        this.clock = clock;
        this.intervalNanos = intervalNanos;
        this.histogram = histogram;
        this.parks = parks;
    }

    /** Each ping as soon as the previous answer arrived, timed from when it left. */
    static PingSchedule backToBack(Histogram histogram) {
        return new PingSchedule(System::nanoTime, 0, histogram);
    }

    /**
     * One ping every {@code intervalNanos}, timed from its intended send time; {@code parks}: whether
     * waits over 100 µs park (false for a busy-polling variant: every wait spins).
     */
    static PingSchedule paced(long intervalNanos, Histogram histogram, boolean parks) {
        return new PingSchedule(System::nanoTime, intervalNanos, histogram, parks);
    }

    /**
     * The interval that offers {@code pace} times the rate a back-to-back run reached (its mean round
     * trip divided by {@code pace}), but no shorter than {@code minIntervalNanos} and 1 µs. At 0.25 a
     * loop that fell behind catches up three intervals' worth with every round trip, if round trips
     * stay as fast as back to back. They need not: with gaps between pings, a side that spins and
     * then parks (Aeron's backoff idle strategy, any blocking socket) pays a wake-up per ping that
     * back to back it did not, so round trips of 5 µs back to back took 50-70 µs paced, longer than
     * a quarter-rate interval of 20-30 µs, and the loop never caught up. The floor keeps the interval
     * above such a wake-up.
     *
     * @throws IllegalArgumentException if {@code pace} is not above 0 and at most 1, or the floor is negative
     */
    static long intervalAt(double pace, Histogram backToBack, long minIntervalNanos) {
        if (!(pace > 0 && pace <= 1)) {
            throw new IllegalArgumentException("pace must be above 0 and at most 1 (a share of the back-to-back rate), was: " + pace);
        }
        if (minIntervalNanos < 0) {
            throw new IllegalArgumentException("minIntervalNanos must be at least 0, was: " + minIntervalNanos);
        }
        return Math.max(Math.max(1_000, minIntervalNanos), Math.round(backToBack.getMean() / pace));
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
        if (parks && intended - now > PARK_ABOVE_NANOS) {
            // A long wait parks for most of it: a pinger spinning for hundreds of microseconds takes the CPU that the
            // echo side needs on a 2-vCPU machine. Waking late is no error: it is measured from the intended time.
            if (!slackLowered) {
                slackLowered = true;
                lowerTimerSlack();
            }
            parkedWaits++;
            LockSupport.parkNanos(intended - now - SPIN_NANOS);
            now = clock.getAsLong();
        }
        while (now - intended < 0) {
            Thread.onSpinWait();
            now = clock.getAsLong();
        }
        long lateness = now - intended;
        if (lateness > LATE_NANOS) {
            late++;
            maxLateness = Math.max(maxLateness, lateness);
        }
        return intended;
    }

    /**
     * Asks Linux to wake the calling thread's timed waits within 1 µs of their time instead of the
     * default 50 µs. Best effort: elsewhere, or without the right to write the file, waits stay as
     * they are (a late wake-up shows as a late ping).
     */
    private static void lowerTimerSlack() {
        try {
            String thread = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            Files.writeString(Path.of("/proc", thread, "timerslack_ns"), TIMER_SLACK_NANOS);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // not Linux, or not allowed: the default slack
        }
    }

    /** Records the round trip of the ping whose {@link #nextSend()} returned {@code sentAt}, answered now. */
    void recordReply(long sentAt) {
        histogram.recordValue(Math.min(clock.getAsLong() - sentAt, histogram.getHighestTrackableValue()));
    }

    /** Waits so far that parked the thread; 0 for a schedule that does not park. */
    long parkedWaits() {
        return parkedWaits;
    }

    /** Pings so far that left more than {@link #LATE_NANOS} after their intended time; 0 when back to back. */
    long late() {
        return late;
    }

    /** The most any ping so far left after its intended time, in nanoseconds, if it was late; else 0. */
    long maxLateness() {
        return maxLateness;
    }

    /** Nanoseconds between intended sends; 0 when back to back. */
    long intervalNanos() {
        return intervalNanos;
    }
}
