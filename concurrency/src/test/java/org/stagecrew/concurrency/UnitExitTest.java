package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/** {@link Concurrency#onExit()} and {@link Concurrency#pid()} of thread units, and {@link UnitExit} itself. */
@Timeout(value = 30, unit = SECONDS)
class UnitExitTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    UnitBuilder thread(Task task) {
        return Concurrency.thread(task).transportConfig(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build());
    }

    @Test
    void onExitOfAThreadUnitThatReturnsCompletesWithZeroAndNoFailure() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        try (Concurrency unit = thread(ctx -> go.await()).name("returns").start()) {
            CompletableFuture<UnitExit> exit = unit.onExit();
            assertFalse(exit.isDone(), "not ended yet");
            assertEquals(java.util.OptionalLong.empty(), unit.pid(), "a thread unit has no pid of its own");
            go.countDown();
            UnitExit ended = exit.get(WAIT.toSeconds(), SECONDS);
            assertEquals("returns", ended.unit());
            assertEquals(0, ended.exitCode());
            assertTrue(ended.isClean());
            assertEquals(OptionalInt.empty(), ended.signal());
            assertTrue(ended.failure().isEmpty());
            assertFalse(ended.uptime().isNegative());
        }
    }

    @Test
    void onExitOfAThreadUnitThatThrowsCarriesItsFailure() throws Exception {
        IllegalStateException boom = new IllegalStateException("boom 4711");
        Concurrency unit = thread(ctx -> {
            throw boom;
        }).start();
        UnitExit ended = unit.onExit().get(WAIT.toSeconds(), SECONDS);
        assertEquals(1, ended.exitCode());
        assertSame(boom, ended.failure().orElseThrow());
    }

    @Test
    void onExitOfAStoppedThreadUnitIsClean() throws Exception {
        Concurrency unit = thread(ctx -> new CountDownLatch(1).await()).start();
        assertTrue(unit.stop(WAIT));
        assertEquals(0, unit.onExit().get(WAIT.toSeconds(), SECONDS).exitCode());
    }

    @Test
    void aFutureReturnedByOnExitCannotCompleteTheUnitsExit() throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        try (Concurrency unit = thread(ctx -> go.await()).start()) {
            unit.onExit().cancel(true);
            assertFalse(unit.onExit().isDone(), "cancelling one caller's future leaves the unit's exit alone");
            go.countDown();
            assertEquals(0, unit.onExit().get(WAIT.toSeconds(), SECONDS).exitCode());
        }
    }

    @Test
    void aProcessStatusAbove128NamesTheSignal() {
        UnitExit killed = UnitExit.ofProcess("w", 137, java.util.Optional.empty(), Duration.ofMillis(5));
        assertEquals(OptionalInt.of(9), killed.signal());
        assertEquals("SIGKILL", killed.signalName().orElseThrow());
        assertEquals("unit w exited with 137 (SIGKILL) after 0.005 s", killed.toString());
        assertEquals(OptionalInt.empty(), UnitExit.ofProcess("w", 3, java.util.Optional.empty(), Duration.ZERO).signal());
    }
}
