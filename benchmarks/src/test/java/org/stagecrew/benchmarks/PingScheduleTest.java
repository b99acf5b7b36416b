package org.stagecrew.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.HdrHistogram.Histogram;
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
    void theHalfRateIntervalIsTwiceTheMeanRoundTrip() {
        histogram.recordValue(10_000);
        histogram.recordValue(30_000);
        assertEquals(40_000, PingSchedule.halfRateInterval(histogram), 40);
        assertThrows(IllegalArgumentException.class, () -> new PingSchedule(() -> 0, -1, histogram));
    }
}
