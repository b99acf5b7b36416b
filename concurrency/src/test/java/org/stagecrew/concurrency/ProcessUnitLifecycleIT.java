package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.stagecrew.concurrency.ProcessUnitIT.assertMentions;
import static org.stagecrew.concurrency.ProcessUnitIT.control;
import static org.stagecrew.concurrency.ProcessUnitIT.destroy;
import static org.stagecrew.concurrency.ProcessUnitIT.exists;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/**
 * Process units at the edges of their life: interrupted and stopped while starting, killed from
 * outside, stopped by SIGTERM, killed after they died, and socket paths that do not fit (issue 18
 * items 1, 2 and 4; issue 12 item 9). Real child JVMs over real sockets.
 */
@Timeout(value = 90, unit = SECONDS)
class ProcessUnitLifecycleIT {
    static final Duration WAIT = ProcessUnitIT.WAIT;

    @TempDir
    Path dir;

    Transport me;

    @BeforeEach
    void openTestTransport() {
        me = Transport.open(config().build());
    }

    @AfterEach
    void closeTestTransport() {
        me.close();
    }

    TransportConfig.Builder config() {
        return TransportConfig.builder().ioMode(ProcessUnitIT.MODE).socketDirectory(dir);
    }

    UnitBuilder process(Class<? extends Task> task) {
        return Concurrency.process(task).transportConfig(config().build()).parent(me.address());
    }

    String ask(Address unit, String request) throws Exception {
        me.send(unit, ProcessUnitIT.utf8(request)).get(WAIT.toSeconds(), SECONDS);
        try (Frame frame = me.receive(WAIT)) {
            assertNotNull(frame, () -> "nothing arrived from " + unit + " within " + WAIT);
            assertEquals(unit, frame.sender(), "frame from an unexpected sender");
            return frame.payload().toString(StandardCharsets.UTF_8);
        }
    }

    /** The child process of this JVM that appeared after {@code before} was taken. */
    static ProcessHandle newChild(Set<Long> before) {
        Await.until("the child JVM runs", WAIT, () -> ProcessHandle.current().children().anyMatch(c -> !before.contains(c.pid())));
        return ProcessHandle.current().children().filter(c -> !before.contains(c.pid())).findFirst().orElseThrow();
    }

    static Set<Long> children() {
        return ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toSet());
    }

    UnitBuilder slowStart() {
        return process(UnitTasks.SlowStartTask.class).systemProperty(UnitTasks.START_DELAY_PROPERTY, "60000");
    }

    @Nested
    class Starting {

        /** Issue 18 item 2: the child went on running after an interrupted start, and stop() threw NPE "destination". */
        @Test
        void anInterruptedStartKillsAndReapsTheChildAndStopCloseAndKillThenWork() throws Exception {
            Set<Long> before = children();
            Concurrency unit = slowStart().name("interrupted-start").build();
            Thread[] starter = new Thread[1];
            CompletableFuture<Concurrency> started = Background.call("starter", () -> {
                starter[0] = Thread.currentThread();
                return unit.start();
            });
            ProcessHandle child = newChild(before);

            starter[0].interrupt();

            ExecutionException e = assertThrows(ExecutionException.class, () -> started.get(WAIT.toSeconds(), SECONDS));
            assertInstanceOf(UnitException.class, e.getCause());
            assertMentions(e.getCause(), "interrupted-start", "interrupted", "killed");
            try {
                assertFalse(child.isAlive(), "the child JVM (pid " + child.pid() + ") still runs after start() failed");
                assertFalse(unit.isAlive());
                assertTrue(unit.stop(WAIT));
                unit.kill();
                unit.close();
                assertThrows(IllegalStateException.class, unit::start);
            } finally {
                destroy(child.pid());
            }
        }

        /** Issue 18 item 2: stop() racing a start() that waits for READY threw NPE "destination". */
        @Test
        void stopWhileStartWaitsForReadyEndsTheChildAndStartFails() throws Exception {
            Set<Long> before = children();
            Concurrency unit = slowStart().name("stopped-while-starting").build();
            CompletableFuture<Concurrency> started = Background.call("starter", unit::start);
            ProcessHandle child = newChild(before);
            try {
                unit.stop(WAIT);

                ExecutionException e = assertThrows(ExecutionException.class, () -> started.get(WAIT.toSeconds(), SECONDS));
                assertInstanceOf(UnitException.class, e.getCause());
                assertTrue(child.onExit().get(WAIT.toSeconds(), SECONDS) != null && !child.isAlive());
                assertFalse(unit.isAlive());
                unit.close();
            } finally {
                destroy(child.pid());
            }
        }
    }

    @Nested
    class Ending {

        /** Issue 18 item 4: SIGTERM ended a unit whose task stopped cleanly with exit code 143 and a failure. */
        @Test
        void sigtermEndsARunningUnitGracefullyWithExitCodeZeroAndNoFailure() throws Exception {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("terminated").start()) {
                long pid = Long.parseLong(ask(unit.address(), UnitTasks.PID_REQUEST));

                ProcessHandle.of(pid).orElseThrow().destroy();

                assertTrue(unit.join(WAIT));
                assertEquals(OptionalInt.of(0), unit.exitCode(), () -> "failure: " + unit.failure());
                assertEquals(Optional.empty(), unit.failure());
            }
        }

        /** Issue 18 item 4: a task that threw while stopping was reported as a clean exit. */
        @Test
        void aTaskThatThrowsWhileStoppingIsReportedWithExitCodeOne() throws Exception {
            try (Concurrency unit = process(UnitTasks.ThrowOnStopTask.class).name("throws-on-stop").start()) {
                unit.stop(WAIT);

                assertTrue(unit.join(WAIT));
                assertEquals(OptionalInt.of(1), unit.exitCode());
                assertMentions(unit.failure().orElseThrow(), "exited with code 1", UnitTasks.ThrowOnStopTask.MESSAGE);
            }
        }

        /** Issue 12 item 9: a unit killed from outside left its .sock and .sock.ctl files behind. */
        @Test
        void theParentRemovesTheSocketFilesOfAUnitKilledFromOutside() throws Exception {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("killed-outside").start()) {
                Address address = unit.address();
                long pid = Long.parseLong(ask(address, UnitTasks.PID_REQUEST));

                ProcessHandle.of(pid).orElseThrow().destroyForcibly();

                Await.until("the parent unlinks " + address + " and its control socket", WAIT,
                        () -> !exists(address) && !exists(control(address)));
                assertEquals(OptionalInt.of(128 + 9), unit.exitCode());
            }
        }

        /**
         * Issue 18 item 1: kill() on a unit that had already ended deleted the socket files of a
         * newer unit at the same address, which then could not be reached.
         */
        @Test
        void killOnAnEndedUnitLeavesTheFilesOfANewerUnitAtTheSameAddressAlone() throws Exception {
            UnitBuilder shared = process(UnitTasks.EchoTask.class).transportConfig(config().fileName("shared.sock").build());
            Concurrency old = shared.name("old").start();
            try (old) {
                assertTrue(old.stop(WAIT));
                try (Concurrency newer = shared.name("newer").start()) {
                    assertEquals(old.address(), newer.address());

                    old.kill();
                    old.close();

                    assertTrue(exists(newer.address()), "the newer unit's socket file was deleted");
                    assertTrue(exists(control(newer.address())), "the newer unit's control socket was deleted");
                    assertEquals("ping", ask(newer.address(), "ping"));
                    assertTrue(newer.stop(WAIT));
                }
            }
        }
    }

    @Nested
    class StartTimeout {

        /**
         * Issue 12 item 9: a unit that had bound its sockets but was not ready in time was killed,
         * and its .sock and .sock.ctl files stayed behind. The test unlinks the starter's handshake
         * socket while the child JVM boots, so that the child's READY cannot arrive.
         */
        @Test
        void aUnitKilledForNotBeingReadyInTimeLeavesNoSocketFiles() throws Exception {
            Path unitDir = Files.createDirectories(dir.resolve("unready"));
            UnitBuilder unready = Concurrency.process(UnitTasks.EchoTask.class).name("unready")
                    .transportConfig(config().socketDirectory(unitDir).build()).logDirectory(dir.resolve("logs"))
                    .startTimeout(Duration.ofSeconds(5));
            Set<Long> before = children();
            // Once the child is launched, the handshake transport is fully open (bound, chmod-ed); the child takes far
            // longer to boot and connect than this takes to notice it.
            CompletableFuture<Void> handshakeRemoved = Background.run("remove-handshake", () ->
                    Await.until("the child runs and the starter's handshake socket is there", WAIT, () -> {
                        if (ProcessHandle.current().children().allMatch(c -> before.contains(c.pid()))) {
                            return false;
                        }
                        try (java.util.stream.Stream<Path> files = Files.list(unitDir)) {
                            for (Path file : files.toList()) {
                                String name = file.getFileName().toString();
                                // The socket itself, not its lock file (<name>.sock.lock) beside it.
                                if (name.startsWith("stagecrew-start-") && name.endsWith(".sock")) {
                                    Files.delete(file);
                                    return true;
                                }
                            }
                            return false;
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }));

            UnitException e = assertThrows(UnitException.class, unready::start);

            handshakeRemoved.get(WAIT.toSeconds(), SECONDS);
            assertMentions(e, "unready", "was not ready within 5000 ms and was killed");
            try (java.util.stream.Stream<Path> left = Files.list(unitDir)) {
                assertEquals(List.of(), left.map(p -> p.getFileName().toString()).sorted().toList(),
                        "socket files left behind by the unit that was killed while starting");
            }
        }
    }

    @Nested
    class SocketPaths {

        /**
         * Issue 12 item 9: a unit socket that fits into sun_path while its control socket (4 bytes
         * longer) does not failed only in the child, after the JVM had started.
         */
        @Test
        void aDirectoryTooLongForTheControlSocketIsRejectedAtBuildNamingThePathItsLengthAndTheLimit() throws Exception {
            String name = "u.sock";
            int room = Address.MAX_PATH_BYTES - name.length() - 1; // the directory's length for the unit socket to just fit
            Path deep = dir;
            while (deep.toString().length() < room - 20) {
                deep = deep.resolve("d".repeat(Math.min(20, room - 20 - deep.toString().length() + 1)));
            }
            deep = deep.resolve("x".repeat(room - deep.toString().length() - 1));
            assertEquals(room, deep.toString().length());
            Files.createDirectories(deep);
            UnitBuilder builder = Concurrency.process(UnitTasks.EchoTask.class).name("long-path")
                    .transportConfig(config().socketDirectory(deep).fileName(name).build());

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

            assertMentions(e, "long-path", deep.resolve(name) + ".ctl", (Address.MAX_PATH_BYTES + 4) + " bytes long",
                    Address.MAX_PATH_BYTES + " bytes");
        }
    }
}
