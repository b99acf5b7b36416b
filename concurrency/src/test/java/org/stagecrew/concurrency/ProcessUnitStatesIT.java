package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/**
 * Every state of a process unit (not started, starting, running, stopping, ended) against every
 * operation (start, stop, kill, close, join, exitCode), with real child JVMs: no call throws
 * anything but its documented exception, none blocks past its timeout, and no child outlives a
 * failed start (issue 18's table).
 */
@Timeout(value = 600, unit = SECONDS)
class ProcessUnitStatesIT {

    static final Duration WAIT = ProcessUnitIT.WAIT;
    static final Duration PROMPT = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    enum State { NOT_STARTED, STARTING, RUNNING, STOPPING, ENDED }

    enum Operation { START, STOP, KILL, CLOSE, JOIN, EXIT_CODE }

    /** A unit in a state, with what it takes to check and clean it up. */
    record Subject(Concurrency unit, CompletableFuture<Concurrency> start, ProcessHandle child) {
    }

    TransportConfig config() {
        return TransportConfig.builder().ioMode(ProcessUnitIT.MODE).socketDirectory(dir).build();
    }

    Subject inState(State state, String name) throws Exception {
        switch (state) {
            case NOT_STARTED -> {
                return new Subject(Concurrency.process(UnitTasks.EchoTask.class).name(name).transportConfig(config()).build(), null, null);
            }
            case STARTING -> {
                Set<Long> before = ProcessUnitLifecycleIT.children();
                Concurrency unit = Concurrency.process(UnitTasks.SlowStartTask.class).name(name).transportConfig(config())
                        .systemProperty(UnitTasks.START_DELAY_PROPERTY, "60000").startTimeout(Duration.ofSeconds(90)).build();
                CompletableFuture<Concurrency> start = Background.call("start-" + name, unit::start);
                return new Subject(unit, start, ProcessUnitLifecycleIT.newChild(before));
            }
            case RUNNING, ENDED -> {
                Concurrency unit = Concurrency.process(UnitTasks.EchoTask.class).name(name).transportConfig(config()).start();
                if (state == State.ENDED) {
                    assertTrue(unit.stop(WAIT));
                }
                return new Subject(unit, null, null);
            }
            case STOPPING -> {
                Concurrency unit = Concurrency.process(UnitTasks.LingeringStopTask.class).name(name).transportConfig(config()).start();
                assertTrue(Daemons.requestStop(Control.controlAddress(unit.address()), config(), WAIT));
                Path log = unit.logFile().orElseThrow();
                Await.until("the unit takes the stop request", WAIT, () -> ProcessUnitIT.readQuietly(log).contains("asked to stop by"));
                return new Subject(unit, null, null);
            }
            default -> throw new AssertionError(state);
        }
    }

    @TestFactory
    List<DynamicTest> everyOperationInEveryStateReturnsItsDocumentedOutcomeInTime() {
        List<DynamicTest> tests = new ArrayList<>();
        for (State state : State.values()) {
            for (Operation operation : Operation.values()) {
                String name = (state + "-" + operation).toLowerCase();
                tests.add(dynamicTest(operation + " on a " + state + " unit", () -> {
                    Subject subject = inState(state, name);
                    try {
                        check(state, operation, subject);
                    } finally {
                        subject.unit().kill();
                        if (subject.start() != null) {
                            assertThrows(ExecutionException.class, () -> subject.start().get(WAIT.toSeconds(), SECONDS),
                                    "a start that its unit's stop or kill interrupted fails");
                            assertFalse(subject.child().isAlive(), "no child outlives a failed start");
                        }
                        if (subject.child() != null) {
                            subject.child().destroyForcibly();
                        }
                    }
                }));
            }
        }
        return tests;
    }

    void check(State state, Operation operation, Subject subject) throws Exception {
        Concurrency unit = subject.unit();
        switch (operation) {
            case START -> {
                if (state == State.NOT_STARTED) {
                    assertTimeoutPreemptively(WAIT.plus(WAIT), unit::start);
                    assertTrue(unit.isAlive());
                } else {
                    assertTimeoutPreemptively(PROMPT, () -> assertThrows(IllegalStateException.class, unit::start));
                }
            }
            case STOP -> {
                boolean graceful = assertTimeoutPreemptively(WAIT.plus(PROMPT), () -> unit.stop(WAIT));
                assertTrue(graceful, "stop on a " + state + " unit");
                assertFalse(unit.isAlive());
                if (state == State.RUNNING || state == State.STOPPING || state == State.ENDED) {
                    assertEquals(OptionalInt.of(0), unit.exitCode(), () -> "failure: " + unit.failure());
                }
            }
            case KILL -> {
                assertTimeoutPreemptively(WAIT.plus(PROMPT), unit::kill);
                assertFalse(unit.isAlive());
                OptionalInt expected = switch (state) {
                    case NOT_STARTED -> OptionalInt.empty();
                    case ENDED -> OptionalInt.of(0);
                    default -> OptionalInt.of(128 + 9);
                };
                assertEquals(expected, unit.exitCode());
            }
            case CLOSE -> {
                assertTimeoutPreemptively(Concurrency.DEFAULT_STOP_TIMEOUT.plus(WAIT), unit::close);
                assertFalse(unit.isAlive());
                if (state == State.STARTING) {
                    ExecutionException e = assertThrows(ExecutionException.class, () -> subject.start().get(WAIT.toSeconds(), SECONDS));
                    assertInstanceOf(UnitException.class, e.getCause());
                }
            }
            case JOIN -> {
                boolean ended = assertTimeoutPreemptively(PROMPT, () -> unit.join(Duration.ofMillis(200)));
                assertEquals(state == State.ENDED, ended, "join on a " + state + " unit");
                if (state == State.NOT_STARTED) {
                    assertFalse(assertTimeoutPreemptively(PROMPT, () -> unit.join(Duration.ofMinutes(5))), "join before start returns at once");
                }
            }
            case EXIT_CODE -> {
                assertEquals(state == State.ENDED ? OptionalInt.of(0) : OptionalInt.empty(), unit.exitCode());
                assertEquals(Optional.empty(), unit.failure());
                assertEquals(state != State.NOT_STARTED, unit.logFile().isPresent() && Files.exists(unit.logFile().get()));
            }
            default -> throw new AssertionError(operation);
        }
    }
}
