package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;

/**
 * Sixteen process units started together with {@link Concurrency#startAll}: all are ready when it
 * returns, each in its own JVM at its own address, and each answers. The time it took is printed,
 * not asserted (see the benchmark jar's {@code UnitStartMain} for the measurement).
 */
@StagecrewTest
class StartTogetherIT {
    static final int UNITS = 16;
    static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void sixteenProcessUnitsStartedTogetherAreAllReadyAndAnswer(Stage stage) {
        List<Concurrency> units = new ArrayList<>();
        for (int i = 0; i < UNITS; i++) {
            units.add(stage.process(DeathTasks.Echo.class).name("together-" + i).fileName("together-" + i + ".sock")
                    .jvmOptions("-Xmx48m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1").startTimeout(Duration.ofSeconds(180)).build());
        }
        long start = System.nanoTime();
        List<Concurrency> started = Concurrency.startAll(units);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        Set<Long> pids = new HashSet<>();
        for (int i = 0; i < UNITS; i++) {
            Concurrency unit = started.get(i);
            assertTrue(unit.isAlive(), unit::toString);
            assertEquals(stage.address("together-" + i + ".sock"), unit.address());
            pids.add(unit.pid().orElseThrow());
            Reports.send(stage.transport(), unit.address(), "PING");
        }
        assertEquals(UNITS, pids.size(), "one JVM each");
        Set<Address> answered = new HashSet<>();
        while (answered.size() < UNITS) {
            answered.add(Reports.receive(stage.transport(), WAIT, "answers from " + (UNITS - answered.size()) + " units").sender());
        }
        System.out.printf("[StartTogetherIT] %d process units ready %d ms after startAll (load average %s)%n", UNITS, millis,
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }
}
