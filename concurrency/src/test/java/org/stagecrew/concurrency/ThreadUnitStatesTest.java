package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/**
 * Every state of a thread unit (not started, running, stopping, ended) against every operation
 * (start, stop, kill, close, join, exitCode): no call throws anything but its documented exception,
 * none blocks past its timeout (issue 18's table). A thread unit's starting state lasts only while
 * {@code start()} binds the transport, under the unit's lock, so it is not a state another caller
 * can observe; {@link #aStopRacingStartIsNeverLostAndNeverThrows} covers the race.
 */
@Timeout(value = 120, unit = SECONDS)
class ThreadUnitStatesTest {

    static final Duration WAIT = Duration.ofSeconds(10);
    /** Bound for calls that must not wait: far below the timeouts they are given. */
    static final Duration PROMPT = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    TransportConfig local() {
        return TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build();
    }

    enum State { NOT_STARTED, RUNNING, STOPPING, ENDED }

    enum Operation { START, STOP, KILL, CLOSE, JOIN, EXIT_CODE }

    /**
     * Receives until asked to stop; then, if it lingers, waits for {@link #release} (ignoring
     * interrupts) before it returns.
     */
    static final class ControlledTask implements Task {
        final boolean lingers;
        final CountDownLatch running = new CountDownLatch(1);
        final CountDownLatch stopping = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        ControlledTask(boolean lingers) {
            this.lingers = lingers;
        }

        @Override
        public void run(TaskContext ctx) {
            running.countDown();
            while (!ctx.isStopRequested()) {
                try (Frame ignored = ctx.transport().receive(Duration.ofSeconds(1))) {
                    // waiting to be stopped
                } catch (TransportException e) {
                    if (!ctx.isStopRequested()) {
                        throw e;
                    }
                }
            }
            stopping.countDown();
            while (lingers) {
                try {
                    release.await(WAIT.toSeconds() * 3, SECONDS);
                    return;
                } catch (InterruptedException ignored) {
                    // a stopping task that ignores interrupts
                }
            }
        }
    }

    Concurrency inState(State state, ControlledTask task) throws Exception {
        Concurrency unit = Concurrency.thread(task).transportConfig(local()).build();
        if (state == State.NOT_STARTED) {
            return unit;
        }
        unit.start();
        assertTrue(task.running.await(WAIT.toSeconds(), SECONDS));
        if (state == State.STOPPING) {
            Background.run("first-stop", () -> unit.stop(WAIT.multipliedBy(3)));
            assertTrue(task.stopping.await(WAIT.toSeconds(), SECONDS));
        } else if (state == State.ENDED) {
            assertTrue(unit.stop(WAIT));
        }
        return unit;
    }

    @TestFactory
    List<DynamicTest> everyOperationInEveryStateReturnsItsDocumentedOutcomeInTime() {
        List<DynamicTest> tests = new ArrayList<>();
        for (State state : State.values()) {
            for (Operation operation : Operation.values()) {
                tests.add(dynamicTest(operation + " on a " + state + " unit", () -> {
                    ControlledTask task = new ControlledTask(state == State.STOPPING);
                    Concurrency unit = inState(state, task);
                    try {
                        check(state, operation, unit, task);
                    } finally {
                        task.release.countDown();
                        unit.kill();
                        assertTrue(unit.join(WAIT) || state == State.NOT_STARTED);
                    }
                }));
            }
        }
        return tests;
    }

    void check(State state, Operation operation, Concurrency unit, ControlledTask task) {
        boolean started = state != State.NOT_STARTED;
        switch (operation) {
            case START -> {
                if (started) {
                    assertThrows(IllegalStateException.class, unit::start);
                } else {
                    assertTimeoutPreemptively(PROMPT, unit::start);
                    assertTrue(unit.isAlive());
                }
            }
            case STOP -> {
                Duration timeout = Duration.ofMillis(500);
                boolean graceful = assertTimeoutPreemptively(PROMPT, () -> unit.stop(timeout));
                // A stopping unit that lingers past the timeout is not stopped gracefully.
                assertEquals(state != State.STOPPING, graceful, "stop on a " + state + " unit");
                assertEquals(state == State.STOPPING, unit.isAlive());
            }
            case KILL -> {
                assertTimeoutPreemptively(PROMPT, unit::kill);
                if (state == State.STOPPING) {
                    assertTrue(unit.isAlive(), "a stopping task that ignores interrupts outlives kill");
                } else {
                    assertTrue(unit.join(WAIT) || state == State.NOT_STARTED, "kill ends a running unit");
                }
            }
            case CLOSE -> {
                if (state == State.STOPPING) {
                    // close() gives the task DEFAULT_STOP_TIMEOUT; let it end once close is waiting.
                    Thread closer = Thread.currentThread();
                    Background.run("release", () -> {
                        Await.until("close() waits", WAIT, () -> closer.getState() == Thread.State.TIMED_WAITING);
                        task.release.countDown();
                    });
                }
                unit.close(); // bounded by DEFAULT_STOP_TIMEOUT, and by the test's @Timeout
                assertFalse(unit.isAlive());
            }
            case JOIN -> {
                // A long timeout: only a unit that is running or stopping may use it, and the release ends those.
                if (state == State.RUNNING || state == State.STOPPING) {
                    assertFalse(unit.join(Duration.ofMillis(200)));
                } else {
                    boolean ended = assertTimeoutPreemptively(PROMPT, () -> unit.join(Duration.ofMinutes(5)));
                    assertEquals(state == State.ENDED, ended, "join on a " + state + " unit");
                }
            }
            case EXIT_CODE -> {
                OptionalInt expected = state == State.ENDED ? OptionalInt.of(0) : OptionalInt.empty();
                assertEquals(expected, unit.exitCode());
                assertEquals(Optional.empty(), unit.failure());
            }
            default -> throw new AssertionError(operation);
        }
    }

    /**
     * Issue 18 item 9: start() published the unit's context before its thread, so a kill() or stop()
     * racing it could call interrupt() on a null thread.
     */
    @Test
    void aStopRacingStartIsNeverLostAndNeverThrows() throws Exception {
        int rounds = 300;
        AtomicInteger thrown = new AtomicInteger();
        List<Throwable> failures = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            Concurrency unit = Concurrency.thread(ctx -> {
                while (!ctx.isStopRequested()) {
                    try (Frame ignored = ctx.transport().receive(Duration.ofSeconds(1))) {
                        // waiting to be stopped
                    } catch (TransportException e) {
                        if (!ctx.isStopRequested()) {
                            throw e;
                        }
                    }
                }
            }).transportConfig(local()).build();
            CompletableFuture<Void> start = Background.run("start", unit::start);
            while (!start.isDone()) {
                try {
                    unit.kill();
                } catch (Throwable e) {
                    thrown.incrementAndGet();
                    failures.add(e);
                    break;
                }
            }
            start.get(WAIT.toSeconds(), SECONDS);
            unit.kill();
            assertTrue(unit.join(WAIT), "a killed unit ends");
        }
        assertEquals(0, thrown.get(), () -> "kill() threw while start() ran: " + failures);
    }

    /** Issue 18 item 4: a task that threw while stopping (not an interruption) was reported as a clean end. */
    @Test
    void aTaskThatThrowsWhileStoppingEndsWithExitCodeOneAndTheException() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        IllegalStateException cleanupFailure = new IllegalStateException("cleanup failed while stopping");
        Task task = ctx -> {
            running.countDown();
            try (Frame ignored = ctx.transport().receive(Duration.ofMinutes(5))) {
                throw new AssertionError("nothing was sent");
            } catch (TransportException stopped) {
                throw cleanupFailure;
            }
        };
        try (Concurrency unit = Concurrency.thread(task).transportConfig(local()).start()) {
            assertTrue(running.await(WAIT.toSeconds(), SECONDS));

            unit.stop(WAIT);

            assertTrue(unit.join(WAIT));
            assertEquals(OptionalInt.of(1), unit.exitCode());
            assertEquals(Optional.of(cleanupFailure), unit.failure());
        }
    }
}
