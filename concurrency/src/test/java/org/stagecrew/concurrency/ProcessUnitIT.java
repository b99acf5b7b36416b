package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/**
 * Process units in real child JVMs over real sockets (EPOLL where available, else NIO) in a
 * temporary directory. The tasks are in {@link UnitTasks}. Every unit is closed by the test that
 * starts it; a unit that outlives its test is killed.
 */
@Timeout(value = 60, unit = SECONDS)
class ProcessUnitIT {

    static final Duration WAIT = Duration.ofSeconds(15);
    static final IoMode MODE = IoMode.EPOLL.isAvailable() ? IoMode.EPOLL : IoMode.NIO;

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
        return TransportConfig.builder().ioMode(MODE).socketDirectory(dir);
    }

    UnitBuilder process(Class<? extends Task> task) {
        return Concurrency.process(task).transportConfig(config().build()).parent(me.address());
    }

    static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    /** Returns the text of the next frame {@code me} receives and checks who sent it. */
    String receiveFrom(Address sender) {
        try (Frame frame = me.receive(WAIT)) {
            assertNotNull(frame, () -> "nothing arrived from " + sender + " within " + WAIT);
            assertEquals(sender, frame.sender(), "frame from an unexpected sender");
            return frame.payload().toString(StandardCharsets.UTF_8);
        }
    }

    String ask(Address unit, String request) throws Exception {
        me.send(unit, utf8(request)).get(WAIT.toSeconds(), SECONDS);
        return receiveFrom(unit);
    }

    static boolean exists(Address address) {
        return Files.exists(address.toPath(), LinkOption.NOFOLLOW_LINKS);
    }

    static Address control(Address unit) {
        return Address.of(unit.path() + ".ctl");
    }

    static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    static void assertMentions(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(String.valueOf(e.getMessage()).contains(part),
                    () -> "message should mention '" + part + "': " + e.getMessage());
        }
    }

    /** Kills a process this test learned about, if it is still alive; for finally blocks. */
    static void destroy(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    @Nested
    class Echo {

        @Test
        void startReturnsWithTheAddressBoundAndAFrameSentToTheChildComesBackFromThatAddress() throws Exception {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("echo").start()) {
                Address address = unit.address();
                assertTrue(exists(address), "the child's socket is bound before start() returns: " + address);
                assertTrue(unit.isAlive());
                assertEquals(OptionalInt.empty(), unit.exitCode());

                assertEquals("hello, child", ask(address, "hello, child"));

                byte[] big = new byte[256 * 1024];
                Arrays.fill(big, (byte) 0x5a);
                me.send(address, ByteBufAllocator.DEFAULT.directBuffer(big.length).writeBytes(big)).get(WAIT.toSeconds(), SECONDS);
                try (Frame echo = me.receive(WAIT)) {
                    assertNotNull(echo, "no echo of the large frame");
                    byte[] back = ByteBufUtil.getBytes(echo.payload());
                    assertTrue(Arrays.equals(big, back), "the large frame came back changed");
                }
            }
        }

        @Test
        void theChildGetsItsNameParentPeersAndArgumentsIntact() throws Exception {
            Address peer1 = Address.of(dir.resolve("peer-1.sock"));
            Address peer2 = Address.of(dir.resolve("peer two.sock"));
            List<String> arguments = List.of("plain", "with space", "quote\"d 'single'", "ünïcödé ✓", "a=b:c#d!e", "");
            try (Concurrency unit = process(UnitTasks.ContextTask.class).name("context-child").peers(peer1, peer2)
                    .arguments(arguments.toArray(String[]::new)).start()) {

                List<String> lines = List.of(receiveFrom(unit.address()).split("\n", -1));

                assertEquals("context-child", lines.get(0), "name");
                assertEquals(me.address().toString(), lines.get(1), "parent");
                assertEquals(unit.address().toString(), lines.get(2), "the task's own address");
                assertEquals("2", lines.get(3), "peer count");
                assertEquals(List.of(peer1.toString(), peer2.toString()), lines.subList(4, 6), "peers");
                assertEquals(arguments, lines.subList(6, lines.size()), "arguments");
                assertTrue(unit.join(WAIT), "the child did not exit after its task returned");
                assertEquals(OptionalInt.of(0), unit.exitCode());
                assertEquals(Optional.empty(), unit.failure());
                assertFalse(exists(unit.address()), "the child unlinks its socket when its task returns");
            }
        }
    }

    @Nested
    class Failure {

        @Test
        void aChildWhoseTaskThrowsExitsWithOneAndItsFailureNamesTheCodeAndTheLogTail() throws Exception {
            try (Concurrency unit = process(UnitTasks.FailingTask.class).name("failing").start()) {
                assertTrue(unit.join(WAIT), "the failing child did not exit");

                assertEquals(OptionalInt.of(1), unit.exitCode());
                Throwable failure = unit.failure().orElseThrow();
                assertInstanceOf(UnitException.class, failure);
                assertMentions(failure, "unit failing", "exited with code 1", "last lines of its log",
                        UnitTasks.FailingTask.MESSAGE);
                assertTrue(read(unit.logFile().orElseThrow()).contains("failing task failing is about to throw"));
                assertFalse(exists(unit.address()), "a failed child still unlinks its socket");
            }
        }

        @Test
        void buildRejectsATaskClassWithoutAPublicNoArgumentConstructor() {
            UnitBuilder builder = process(UnitTasks.NoDefaultConstructorTask.class).name("no-constructor");

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

            assertMentions(e, UnitTasks.NoDefaultConstructorTask.class.getName(), "no-constructor",
                    "needs a public no-argument constructor");
            assertInstanceOf(NoSuchMethodException.class, e.getCause());
        }

        @Test
        void buildRejectsTheInJvmLocalMode() {
            UnitBuilder builder = Concurrency.process(UnitTasks.EchoTask.class).name("local-child")
                    .transportConfig(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build());

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);

            assertMentions(e, "process unit local-child", "IoMode.LOCAL");
        }

        @Test
        void startFailsWithTheExitCodeAndTheLogWhenTheChildExitsBeforeItIsReady() {
            Concurrency unit = process(UnitTasks.ExitInConstructorTask.class).name("exits-early").build();

            UnitException e = assertThrows(UnitException.class, unit::start);

            assertMentions(e, "unit exits-early", "exited with code 7 before it was ready", "last lines of its log",
                    UnitTasks.ExitInConstructorTask.LINE);
            assertFalse(unit.isAlive());
            assertEquals(OptionalInt.of(7), unit.exitCode());
            unit.close();
        }

        @Test
        void startFailsWithTheExitCodeAndTheLogWhenTheChildJvmCannotStart() {
            Concurrency unit = process(UnitTasks.EchoTask.class).name("tiny-heap").jvmOptions("-Xmx1k").build();

            UnitException e = assertThrows(UnitException.class, unit::start);

            assertMentions(e, "unit tiny-heap", "exited with code 1 before it was ready", "Too small maximum heap");
            unit.close();
        }

        @Test
        void startFailsWithExitCodeTwoWhenTheTaskCannotBeCreatedInTheChild() {
            Concurrency unit = process(UnitTasks.ThrowingConstructorTask.class).name("refuses").build();

            UnitException e = assertThrows(UnitException.class, unit::start);

            assertMentions(e, "unit refuses", "exited with code 2 before it was ready", "cannot create its task",
                    UnitTasks.ThrowingConstructorTask.MESSAGE);
            unit.close();
        }

        @Test
        void startingAProcessUnitTwiceThrowsIllegalStateException() {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("started-twice").start()) {
                IllegalStateException e = assertThrows(IllegalStateException.class, unit::start);

                assertMentions(e, "unit started-twice", "already started");
            }
        }
    }

    @Nested
    class Ending {

        @Test
        void stopEndsTheChildGracefullyWithExitCodeZeroAndUnlinksItsSockets() throws Exception {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("stopped").start()) {
                Address address = unit.address();
                assertEquals("ping", ask(address, "ping"));
                assertTrue(exists(control(address)), "the control socket sits next to the unit's: " + control(address));

                assertTrue(unit.stop(WAIT), "stop should end an echo child gracefully");

                assertFalse(unit.isAlive());
                assertEquals(OptionalInt.of(0), unit.exitCode(), () -> "failure: " + unit.failure());
                assertFalse(exists(address), "socket file left behind: " + address);
                assertFalse(exists(control(address)), "control socket left behind: " + control(address));
                assertTrue(read(unit.logFile().orElseThrow()).contains("echo task stopped stopping"));
            }
        }

        @Test
        void killEndsTheChildWithSigkillAndTheParentRemovesItsStaleSocketFiles() throws Exception {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("killed").start()) {
                Address address = unit.address();
                long pid = Long.parseLong(ask(address, UnitTasks.PID_REQUEST));

                unit.kill();

                assertFalse(unit.isAlive());
                assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " still alive");
                assertEquals(OptionalInt.of(128 + 9), unit.exitCode(), "128 + SIGKILL");
                assertFalse(exists(address), "stale socket file left behind: " + address);
                assertFalse(exists(control(address)), "stale control socket left behind: " + control(address));
                assertMentions(unit.failure().orElseThrow(), "unit killed", "exited with code 137");
            }
        }

        @Test
        void theLogFileHoldsTheChildsOutputAndItsTasksLogLines() throws Exception {
            try (Concurrency unit = process(UnitTasks.EchoTask.class).name("logged").start()) {
                Path log = unit.logFile().orElseThrow();
                assertEquals(List.of(log), UnitLogFiles.of(dir.resolve("logs"), "logged"), "default log place, one file per start");

                Await.until("the task's own log line reaches " + log, WAIT,
                        () -> readQuietly(log).contains("echo task logged serving at " + unit.address()));
                assertTrue(read(log).contains("unit logged ready at " + unit.address()), read(log));
            }
        }

        @Test
        void aLogDirectoryAndSystemPropertiesCanBeChosen() throws Exception {
            Path logs = dir.resolve("elsewhere");
            try (Concurrency unit = process(UnitTasks.FailingTask.class).name("configured").logDirectory(logs)
                    .systemProperty("org.slf4j.simpleLogger.defaultLogLevel", "error").start()) {
                assertTrue(unit.join(WAIT));

                String log = read(UnitLogFiles.of(logs, "configured").get(0));
                assertTrue(log.contains(UnitTasks.FailingTask.MESSAGE), log);
                assertFalse(log.contains("is about to throw"), "an info line despite the level set to error: " + log);
            }
        }
    }

    @Nested
    class AbstractNamespace {

        /**
         * Regression (found with issue 4): {@code UnitSpec} does not carry
         * {@code usesAbstractNamespace} (nor connectTimeout, helloTimeout, ioThreads) to the child,
         * so the child binds a socket file instead, although {@code UnitMain.controlConfig} and
         * {@code ProcessUnit.kill} are written for abstract unit addresses.
         */
        @Test
        void aChildAskedForAnAbstractNameBindsOneAndStopsCleanly() throws Exception {
            Assumptions.assumeTrue(MODE == IoMode.EPOLL, "abstract names need EPOLL or IO_URING");
            TransportConfig config = config().useAbstractNamespace(true).build();
            try (Concurrency unit = Concurrency.process(UnitTasks.EchoTask.class).name("abstract").transportConfig(config)
                    .parent(me.address()).start()) {
                assertTrue(unit.address().isAbstract(), () -> "the child bound " + unit.address());
                assertEquals("ping", ask(unit.address(), "ping"));
                assertTrue(unit.stop(WAIT));
                assertEquals(OptionalInt.of(0), unit.exitCode());
            }
        }
    }

    @Nested
    class ParentExit {

        /**
         * A grandchild (a non-daemon process unit started by a process unit) stops on its own when
         * the JVM that started it dies by SIGKILL, so it can clean up nothing for it.
         */
        @Test
        void aNonDaemonChildStopsWhenItsParentJvmIsKilled() throws Exception {
            long grandchildPid = -1;
            try (Concurrency middle = process(UnitTasks.GrandparentTask.class).name("middle").start()) {
                try {
                    Address grandchild = UnitSpec.decodeAddress(receiveFrom(middle.address()));
                    grandchildPid = Long.parseLong(ask(grandchild, UnitTasks.PID_REQUEST));
                    ProcessHandle handle = ProcessHandle.of(grandchildPid).orElseThrow();

                    middle.kill();

                    ProcessHandle ended = handle.onExit().get(WAIT.toSeconds(), SECONDS);
                    assertFalse(ended.isAlive());
                    assertFalse(exists(grandchild), "the grandchild stopped cleanly, so it unlinked its socket: " + grandchild);
                    Path log = UnitLogFiles.of(dir.resolve("logs"), "middle-grandchild").get(0);
                    assertTrue(read(log).contains("parent process"), () -> "log of the grandchild:\n" + readQuietly(log));
                } finally {
                    if (grandchildPid > 0) {
                        destroy(grandchildPid);
                    }
                }
            }
        }
    }

    static String readQuietly(Path file) {
        try {
            return read(file);
        } catch (IOException e) {
            return "";
        }
    }
}
