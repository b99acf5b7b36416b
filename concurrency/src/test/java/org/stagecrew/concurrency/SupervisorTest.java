package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/** {@link Supervisor} with thread units: strategies, intensity, backoff, transient children, the hook. */
@Timeout(value = 30, unit = SECONDS)
class SupervisorTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** Starts per child name. */
    final ConcurrentHashMap<String, AtomicInteger> starts = new ConcurrentHashMap<>();
    /** Counted down to make the current runs of crashy children throw. */
    final ConcurrentHashMap<String, CountDownLatch> crash = new ConcurrentHashMap<>();
    final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    final List<Long> restartTimes = new CopyOnWriteArrayList<>();

    final SupervisorListener recorder = new SupervisorListener() {
        @Override
        public void unitExited(String child, UnitExit exit) {
            events.add("exit " + child + " " + exit.exitCode());
        }

        @Override
        public void unitRestarted(String child, Concurrency unit, int restart) {
            restartTimes.add(System.nanoTime());
            events.add("restart " + child + " " + restart);
        }

        @Override
        public void gaveUp(Supervisor.GiveUp giveUp) {
            events.add("gave up " + giveUp.child());
        }
    };

    /** A child that runs until stopped, or throws when its crash latch is counted down. */
    UnitBuilder child(String name) {
        crash.put(name, new CountDownLatch(1));
        return Concurrency.thread(ctx -> {
            starts.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
            CountDownLatch mine = crash.get(name);
            while (!ctx.isStopRequested()) {
                if (mine.await(10, TimeUnit.MILLISECONDS)) {
                    crash.put(name, new CountDownLatch(1)); // the next run waits for its own crash
                    throw new IllegalStateException(name + " crashed on purpose");
                }
            }
        }).name(name).transportConfig(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build());
    }

    String next() throws InterruptedException {
        String e = events.poll(WAIT.toSeconds(), SECONDS);
        assertTrue(e != null, "an event within " + WAIT);
        return e;
    }

    @Test
    void oneForOneRestartsOnlyTheUnitThatEndedAtItsAddress() throws Exception {
        try (Supervisor s = Supervisor.builder("s").child(child("a")).child(child("b")).backoff(Duration.ZERO, Duration.ZERO)
                .listener(recorder).start()) {
            Concurrency a = s.unit("a");
            Concurrency b = s.unit("b");
            Address address = s.address("a");
            crash.get("a").countDown();
            assertEquals("exit a 1", next());
            assertEquals("restart a 1", next());
            assertNotSame(a, s.unit("a"));
            assertEquals(address, s.address("a"), "restarted at the same address");
            assertTrue(s.unit("a").isAlive());
            assertSame(b, s.unit("b"), "b was left alone");
            assertTrue(b.isAlive());
            // The new unit's task runs on its own thread: wait for it to have begun.
            Await.until("the restarted a runs", WAIT, () -> starts.get("a").get() == 2);
            assertEquals(1, starts.get("b").get());
        }
        assertTrue(events.isEmpty(), () -> "close restarts nothing: " + events);
    }

    @Test
    void oneForAllRestartsEveryUnit() throws Exception {
        try (Supervisor s = Supervisor.builder("s").child(child("a")).child(child("b")).strategy(Supervisor.Strategy.ONE_FOR_ALL)
                .backoff(Duration.ZERO, Duration.ZERO).listener(recorder).start()) {
            Concurrency b = s.unit("b");
            crash.get("a").countDown();
            assertEquals("exit a 1", next());
            assertEquals("restart a 1", next());
            assertEquals("restart b 1", next());
            assertFalse(b.isAlive(), "the old b was stopped");
            assertNotSame(b, s.unit("b"));
            Await.until("the restarted b runs", WAIT, () -> starts.get("b").get() == 2);
            assertTrue(s.unit("a").isAlive() && s.unit("b").isAlive());
        }
    }

    @Test
    void afterMaxRestartsWithinThePeriodItGivesUpAndStopsEveryUnit() throws Exception {
        try (Supervisor s = Supervisor.builder("s").child(child("a")).child(child("b")).intensity(3, Duration.ofMinutes(1))
                .backoff(Duration.ZERO, Duration.ZERO).listener(recorder).start()) {
            CompletableFuture<Supervisor.GiveUp> gaveUp = s.onGiveUp();
            for (int i = 1; i <= 3; i++) {
                crash.get("a").countDown();
                assertEquals("exit a 1", next());
                assertEquals("restart a " + i, next());
            }
            Concurrency b = s.unit("b");
            crash.get("a").countDown();
            assertEquals("exit a 1", next());
            assertEquals("gave up a", next());
            Supervisor.GiveUp g = gaveUp.get(WAIT.toSeconds(), SECONDS);
            assertEquals("a", g.child());
            assertEquals(3, g.restarts());
            assertEquals(1, g.exit().exitCode());
            assertTrue(g.reason().contains("after 3 restarts"), g.reason());
            assertTrue(b.join(WAIT), "giving up stops the other units");
            assertEquals(4, starts.get("a").get());
        }
    }

    @Test
    void aTransientChildThatEndsCleanlyIsNotRestarted() throws Exception {
        UnitBuilder once = Concurrency.thread(ctx -> starts.computeIfAbsent("once", n -> new AtomicInteger()).incrementAndGet())
                .name("once").transportConfig(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build());
        try (Supervisor s = Supervisor.builder("s").child(once).restart(Supervisor.Restart.TRANSIENT).listener(recorder).start()) {
            assertEquals("exit once 0", next());
            assertEquals(null, events.poll(300, TimeUnit.MILLISECONDS), "no restart of a clean transient end");
            assertEquals(1, starts.get("once").get());
        }
    }

    @Test
    void theBackoffDoublesWithEachRecentRestart() throws Exception {
        Duration initial = Duration.ofMillis(100);
        try (Supervisor s = Supervisor.builder("s").child(child("a")).intensity(10, Duration.ofMinutes(1))
                .backoff(initial, Duration.ofSeconds(5)).listener(recorder).start()) {
            long[] crashedAt = new long[3];
            for (int i = 0; i < 3; i++) {
                crashedAt[i] = System.nanoTime();
                crash.get("a").countDown();
                assertEquals("exit a 1", next());
                assertEquals("restart a " + (i + 1), next());
            }
            for (int i = 0; i < 3; i++) {
                long waited = TimeUnit.NANOSECONDS.toMillis(restartTimes.get(i) - crashedAt[i]);
                long atLeast = initial.toMillis() << i;
                assertTrue(waited >= atLeast, "restart " + (i + 1) + " came after " + waited + " ms, backoff " + atLeast + " ms");
            }
        }
    }
}
