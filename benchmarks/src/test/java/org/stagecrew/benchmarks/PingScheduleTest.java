package org.stagecrew.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.HdrHistogram.Histogram;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The paced ping-pong schedule measures from intended send times, so a stall counts for every ping it held back. */
@Timeout(10)
class PingScheduleTest {
    /** Round trip of each ping, ns: the second one stalls. */
    private static final long[] REPLY_AFTER = {10, 1_000, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10};

    private final long[] now = {0};
    private final Histogram histogram = new Histogram(1_000_000, 3);

    @Test
    void aStallIsRecordedForEveryPingItHeldBackWhenPaced() {
        PingSchedule paced = new PingSchedule(() -> now[0], 100, histogram);
        for (int i = 0; i < REPLY_AFTER.length; i++) {
            now[0] = Math.max(now[0], i * 100L); // the fake clock does not move by itself: jump to the intended time
            long sentAt = paced.nextSend();
            now[0] += REPLY_AFTER[i];
            paced.recordReply(sentAt);
        }
        // Ping 1 stalled 1000 ns; pings 2..10 were due at 200..1000 but could leave only from 1100 on:
        // 910, 820, ... 190 ns from their intended times, then 110 for ping 11; the last two are on time.
        assertEquals(REPLY_AFTER.length, histogram.getTotalCount());
        assertEquals(11, histogram.getCountBetweenValues(100, 1_000), "pings held back by the stall, the stalled one included");
        assertEquals(1_000, histogram.getMaxValue(), 1, "the stalled ping itself");
        assertEquals(370, histogram.getValueAtPercentile(50), 1);
        assertEquals(10, histogram.getMinValue(), "pings after the backlog cleared are on time again");
    }

    @Test
    void theSameStallCountsOnceWhenBackToBack() {
        PingSchedule backToBack = new PingSchedule(() -> now[0], 0, histogram);
        for (long delay : REPLY_AFTER) {
            long sentAt = backToBack.nextSend();
            now[0] += delay;
            backToBack.recordReply(sentAt);
        }
        assertEquals(1, histogram.getCountBetweenValues(100, 1_000), "only the stalled ping");
        assertEquals(10, histogram.getValueAtPercentile(90));
        assertEquals(1_000, histogram.getMaxValue(), 1);
    }

    @Test
    void aPacedPingWaitsForItsIntendedTimeAndIsTimedFromIt() {
        long[] reads = {0};
        // A clock that moves 7 ns per reading: nextSend must keep reading it until the intended time.
        PingSchedule paced = new PingSchedule(() -> 7 * reads[0]++, 1_000, histogram);
        long first = paced.nextSend();
        long second = paced.nextSend();
        assertEquals(1_000, second - first, "the second ping is intended one interval after the first");
        assertTrue(7 * reads[0] > second, "nextSend returned before the intended time: clock at " + 7 * (reads[0] - 1));
    }

    @Test
    void theIntervalIsTheMeanRoundTripOverThePace() {
        histogram.recordValue(10_000);
        histogram.recordValue(30_000);
        assertEquals(40_000, PingSchedule.intervalAt(0.5, histogram, 0), 40);
        assertEquals(80_000, PingSchedule.intervalAt(0.25, histogram, 0), 80);
        assertEquals(20_000, PingSchedule.intervalAt(1, histogram, 0), 20);
        assertThrows(IllegalArgumentException.class, () -> PingSchedule.intervalAt(0, histogram, 0));
        assertThrows(IllegalArgumentException.class, () -> PingSchedule.intervalAt(1.5, histogram, 0));
        assertThrows(IllegalArgumentException.class, () -> PingSchedule.intervalAt(Double.NaN, histogram, 0));
        assertThrows(IllegalArgumentException.class, () -> PingSchedule.intervalAt(0.25, histogram, -1));
        assertThrows(IllegalArgumentException.class, () -> new PingSchedule(() -> 0, -1, histogram));
    }

    @Test
    void theIntervalIsNeverShorterThanItsFloor() {
        histogram.recordValue(5_000); // 5 us back to back: a quarter of that rate would be a ping every 20 us
        assertEquals(100_000, PingSchedule.intervalAt(0.25, histogram, 100_000), "the floor, not 20 us");
        assertEquals(20_000, PingSchedule.intervalAt(0.25, histogram, 10_000), 20, "above the floor: the pace decides");
        histogram.reset();
        histogram.recordValue(1);
        assertEquals(1_000, PingSchedule.intervalAt(1, histogram, 0), "never below 1 us");
    }

    @Test
    void pingsThatLeaveAfterTheirIntendedTimeAreCountedAsLateWithTheLatest() {
        PingSchedule paced = new PingSchedule(() -> now[0], 10_000, histogram);
        for (int i = 0; i < REPLY_AFTER.length; i++) {
            now[0] = Math.max(now[0], i * 10_000L);
            long sentAt = paced.nextSend();
            // ping 1's answer takes 25 us: pings 2 (due at 20 us, leaves at 35 us) and 3 (due 30, leaves 35.01) are late
            now[0] += i == 1 ? 25_000 : 10;
            paced.recordReply(sentAt);
        }
        assertEquals(2, paced.late(), "pings 2 and 3 left after their intended times");
        assertEquals(15_000, paced.maxLateness(), "ping 2 left 15 us late");
        assertEquals(25_000, histogram.getMaxValue(), 25, "the stalled ping, measured from its intended time");
        assertEquals(1, histogram.getCountBetweenValues(15_000, 15_020), "ping 2, 15.01 us from its intended time, includes its lateness");
    }

    @Test
    void aScheduleThatDoesNotParkSpinsThroughLongWaits() {
        long[] clocks = {0, 0};
        LongSupplier ticking = () -> clocks[0] += 1_000; // 1 us per reading: a 1 ms wait takes a thousand
        LongSupplier tickingToo = () -> clocks[1] += 1_000;
        PingSchedule spinning = PingSchedule.paced(1_000_000, histogram, false);
        PingSchedule parking = new PingSchedule(tickingToo, 1_000_000, histogram, true);
        PingSchedule spinningOnTicks = new PingSchedule(ticking, 1_000_000, histogram, false);
        for (int i = 0; i < 3; i++) {
            spinningOnTicks.nextSend();
            parking.nextSend();
        }
        assertEquals(0, spinningOnTicks.parkedWaits(), "a busy-polling variant's pinger must never sleep");
        assertEquals(2, parking.parkedWaits(), "the waits for pings 1 and 2, each 1 ms away, parked");
        spinning.nextSend();
        assertEquals(0, spinning.parkedWaits());
    }

    @Test
    void aPingThatLeavesOnTimeOrWithinTheToleranceIsNotLate() {
        PingSchedule paced = new PingSchedule(() -> now[0], 10_000, histogram);
        for (int i = 0; i < 5; i++) {
            now[0] = i * 10_000L + (i == 3 ? PingSchedule.LATE_NANOS : 0); // ping 3 starts exactly at the tolerance
            paced.recordReply(paced.nextSend());
        }
        assertEquals(0, paced.late());
        assertEquals(0, paced.maxLateness());
        PingSchedule backToBack = new PingSchedule(() -> now[0], 0, histogram);
        now[0] += 1_000_000;
        backToBack.nextSend();
        assertEquals(0, backToBack.late(), "back to back has no intended times");
    }
}
