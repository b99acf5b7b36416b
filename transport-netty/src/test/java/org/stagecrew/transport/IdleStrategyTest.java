package org.stagecrew.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Issue 13: one idle strategy (spin, yield, park, backoff) instead of four ad-hoc loops. */
class IdleStrategyTest {

    @Test
    void spinsThenYieldsThenParksForDoublingPeriodsUpToTheMaximum() {
        IdleStrategy idle = new IdleStrategy(2, 3, 1_000, 5_000);

        assertEquals(0, idle.parkNanos(0), "spin");
        assertEquals(0, idle.parkNanos(4), "yield");
        assertEquals(1_000, idle.parkNanos(5));
        assertEquals(2_000, idle.parkNanos(6));
        assertEquals(4_000, idle.parkNanos(7));
        assertEquals(5_000, idle.parkNanos(8), "capped");
        assertEquals(5_000, idle.parkNanos(Integer.MAX_VALUE), "no overflow however long it waits");
    }

    @Test
    void spinThenYieldNeverParksAndParkingParksFromTheFirstAttempt() {
        assertEquals(0, IdleStrategy.spinThenYield(64).parkNanos(Integer.MAX_VALUE - 1));
        assertEquals(1_000_000, IdleStrategy.parking(1_000_000, 64_000_000).parkNanos(0));
        assertEquals(64_000_000, IdleStrategy.parking(1_000_000, 64_000_000).parkNanos(40));
    }

    @Test
    void invalidValuesAreRejectedNamingThem() {
        IllegalArgumentException spins = assertThrows(IllegalArgumentException.class, () -> new IdleStrategy(-1, 0, 1, 1));
        IllegalArgumentException parks = assertThrows(IllegalArgumentException.class, () -> IdleStrategy.parking(10, 5));

        assertEquals("spins and yields must be at least 0, were: -1 and 0", spins.getMessage());
        assertEquals("parks must satisfy 1 <= minParkNanos <= maxParkNanos, were: 10 and 5", parks.getMessage());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void idleUntilDoesNotParkPastTheDeadline() {
        IdleStrategy hourLong = IdleStrategy.parking(TimeUnit.HOURS.toNanos(1), TimeUnit.HOURS.toNanos(1));
        long deadline = System.nanoTime() + Duration.ofMillis(20).toNanos();

        hourLong.idleUntil(0, deadline);

        assertTrue(System.nanoTime() - deadline < Duration.ofSeconds(20).toNanos(), "returned near the deadline, not after an hour");
    }
}
