package org.stagecrew.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.transport.Transport;

/**
 * The harness tested with the JUnit Platform engine test kit: each scenario is a static nested test
 * class (not run by Surefire itself, which skips nested classes, and skipped by its
 * {@link TestKitOnly} condition when run any other way) executed in a fresh engine run, whose
 * outcome and failure are then checked.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StageExtensionTest {

    /** What the nested tests saw, for the outer test to check once they have run. */
    static volatile Path socketDirectory;
    static volatile Path logDirectory;
    static volatile long pid;

    @BeforeEach
    void forget() {
        socketDirectory = null;
        logDirectory = null;
        pid = -1;
    }

    /** The configuration parameter that enables the {@link TestKitOnly} scenario classes: {@value}. */
    static final String TEST_KIT_PARAMETER = "stagecrew.testing.testKit";

    static boolean launchedByTheTestKit(ExtensionContext context) {
        return context.getConfigurationParameter(TEST_KIT_PARAMETER).isPresent();
    }

    static Events run(Class<?> testClass) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass))
                .configurationParameter(TEST_KIT_PARAMETER, "true").execute().testEvents();
    }

    static Throwable onlyFailure(Events events) {
        events.assertStatistics(stats -> stats.started(1).failed(1).succeeded(0));
        Event failed = events.failed().list().get(0);
        return failed.getPayload(TestExecutionResult.class).flatMap(TestExecutionResult::getThrowable).orElseThrow();
    }

    static String everything(Throwable t) {
        StringBuilder text = new StringBuilder(String.valueOf(t.getMessage()));
        for (Throwable s : t.getSuppressed()) {
            text.append("\n[suppressed ").append(s.getClass().getSimpleName()).append("] ").append(s.getMessage());
        }
        return text.toString();
    }

    static void assertContains(String text, String... parts) {
        for (String part : parts) {
            assertTrue(text.contains(part), () -> "expected '" + part + "' in:\n" + text);
        }
    }

    // ---- scenarios ----

    @TestKitOnly
    @StagecrewTest
    static class TwoProcessEcho {
        @Test
        void echoes(Stage stage) throws Exception {
            socketDirectory = stage.socketDirectory();
            Transport me = stage.transport();
            Concurrency echo = stage.process(HarnessTasks.EchoTask.class).start();
            HarnessTasks.sendAndWait(me, echo.address(), "hello");
            assertEquals("hello", HarnessTasks.receiveText(me));
            pid = Long.parseLong(askPid(me, echo));
        }
    }

    static String askPid(Transport me, Concurrency unit) throws Exception {
        HarnessTasks.sendAndWait(me, unit.address(), HarnessTasks.PID_REQUEST);
        return HarnessTasks.receiveText(me);
    }

    @Test
    void aScenarioClassRunWithoutTheTestKitParameterIsSkipped() {
        EngineTestKit.engine("junit-jupiter").selectors(selectClass(TwoProcessEcho.class)).execute().allEvents()
                .assertStatistics(stats -> stats.skipped(1).started(1)); // the engine started, the class skipped
    }

    @Test
    void aCleanTwoProcessTestPassesAndItsDirectoryAndChildAreGoneAfterwards() {
        run(TwoProcessEcho.class).assertStatistics(stats -> stats.started(1).succeeded(1).failed(0));

        assertNotNull(socketDirectory);
        assertFalse(Files.exists(socketDirectory, LinkOption.NOFOLLOW_LINKS), "the stage deletes its socket directory");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the echo unit was stopped");
    }

    @TestKitOnly
    @StagecrewTest
    static class SharesOneStage {
        Stage before;

        @BeforeEach
        void remember(Stage stage) {
            before = stage;
        }

        @Test
        void sameStage(Stage stage) {
            assertSame(before, stage, "@BeforeEach and the test get the same stage");
            assertTrue(stage.socketDirectory().toString().length() <= Stage.MAX_DIRECTORY_BYTES);
            assertEquals("rwx------", posix(stage.socketDirectory()));
            assertSame(stage.transport(), stage.transport(), "transport() returns the stage's one transport");
        }
    }

    static String posix(Path dir) {
        try {
            return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void beforeEachAndTheTestShareOnePrivateStage() {
        run(SharesOneStage.class).assertStatistics(stats -> stats.started(1).succeeded(1));
    }

    @TestKitOnly
    @StagecrewTest
    static class LeavesASocketFile {
        @Test
        void bindsWithoutUnlinking(Stage stage) throws Exception {
            Path stray = stage.socketDirectory().resolve("stray.sock");
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(stray)); // the JDK does not unlink on close
            }
        }
    }

    @Test
    void aTestThatLeavesASocketFileFailsNamingTheFile() {
        Throwable failure = onlyFailure(run(LeavesASocketFile.class));

        assertInstanceOf(AssertionError.class, failure);
        assertContains(failure.getMessage(), "socket file left behind", "stray.sock");
    }

    @TestKitOnly
    @StagecrewTest
    static class FailsAfterTheChildLogged {
        @Test
        void fails(Stage stage) {
            logDirectory = stage.logDirectory();
            Concurrency unit = stage.process(HarnessTasks.LoggingTask.class).name("chatty").start();
            assertEquals("logged", HarnessTasks.receiveText(stage.transport()));
            throw new AssertionError("deliberate failure after " + unit.name() + " logged");
        }
    }

    @Test
    void aFailingTestGetsItsChildsLogAttached() throws Exception {
        Throwable failure = onlyFailure(run(FailsAfterTheChildLogged.class));

        assertContains(failure.getMessage(), "deliberate failure after chatty logged");
        UnitLogs logs = Arrays.stream(failure.getSuppressed()).filter(UnitLogs.class::isInstance).map(UnitLogs.class::cast)
                .findFirst().orElseThrow(() -> new AssertionError("no UnitLogs attached: " + everything(failure)));
        assertContains(logs.getMessage(), "unit chatty", HarnessTasks.LoggingTask.LINE, logDirectory.resolve("chatty-").toString());
        try (java.util.stream.Stream<java.nio.file.Path> files = Files.list(logDirectory)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("chatty-")), "logs are kept after the test");
        }
    }

    @TestKitOnly
    @StagecrewTest
    static class LeavesAChildProcess {
        @Test
        void startsSleep(Stage stage) throws Exception {
            Process sleep = new ProcessBuilder("sleep", "300").start();
            pid = sleep.pid();
        }
    }

    @Test
    void aLeftoverChildProcessIsReportedAndKilled() throws Exception {
        Throwable failure = onlyFailure(run(LeavesAChildProcess.class));

        assertContains(failure.getMessage(), "child process still alive after the test: pid " + pid, "sleep", "killed");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the leftover was killed");
    }

    @TestKitOnly
    @StagecrewTest
    static class LetsADaemonEscape {
        @Test
        void launchesAndForgets(Stage stage) throws Exception {
            Concurrency launcher = stage.process(HarnessTasks.DaemonLauncherTask.class)
                    .arguments("escaped.sock", stage.logDirectory().toString()).start();
            pid = Long.parseLong(HarnessTasks.receiveText(stage.transport()));
            assertTrue(launcher.join(HarnessTasks.WAIT), "the launcher exits once the daemon runs");
        }
    }

    @Test
    void aDaemonThatOutlivedItsStarterIsFoundByItsSocketAndKilled() {
        Throwable failure = onlyFailure(run(LetsADaemonEscape.class));

        assertContains(failure.getMessage(), "process still holding a socket in", "pid " + pid, "escaped.sock");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the daemon was killed");
    }

    @TestKitOnly
    @StagecrewTest
    static class ChildReportsALeak {
        @Test
        void leaks(Stage stage) {
            stage.process(HarnessTasks.FakeLeakTask.class).name("leaky").start();
            assertEquals("leaked", HarnessTasks.receiveText(stage.transport()));
        }
    }

    @Test
    void aLeakReportInAChildsLogFailsTheTest() {
        Throwable failure = onlyFailure(run(ChildReportsALeak.class));

        assertContains(failure.getMessage(), "Netty reported a leak in", "leaky-", HarnessTasks.FakeLeakTask.LINE);
    }

    @TestKitOnly
    @StagecrewTest(stopTimeoutMillis = 500)
    static class HasAStubbornUnit {
        @Test
        void startsIt(Stage stage) {
            stage.process(HarnessTasks.StubbornTask.class).start();
            pid = Long.parseLong(HarnessTasks.receiveText(stage.transport()));
        }
    }

    @Test
    void aUnitThatIgnoresStopIsKilledAndTheTestStillPasses() {
        run(HasAStubbornUnit.class).assertStatistics(stats -> stats.started(1).succeeded(1));

        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the stubborn unit was killed");
    }

    @Test
    void aStageOpenedByHandFailsItsCloseWhenASocketFileRemains() throws Exception {
        Stage stage = Stage.builder("by-hand").open();
        Path stray = stage.socketDirectory().resolve("left.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(stray));
        }
        AssertionError failure = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, stage::close);
        assertContains(failure.getMessage(), "stage by-hand", "left.sock");
        assertFalse(Files.exists(stage.socketDirectory()));
        stage.close(); // idempotent: no second report
        assertTrue(List.of(Hygiene.socketDirectories().toArray()).contains(stage.socketDirectory()));
    }
}
