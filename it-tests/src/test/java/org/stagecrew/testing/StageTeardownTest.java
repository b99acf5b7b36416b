package org.stagecrew.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.stagecrew.testing.StageExtensionTest.askPid;
import static org.stagecrew.testing.StageExtensionTest.assertContains;
import static org.stagecrew.testing.StageExtensionTest.onlyFailure;
import static org.stagecrew.testing.StageExtensionTest.run;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Transport;

/**
 * What {@link Stage#close()} does when stages overlap, units misbehave and adopted daemons are
 * unusual, tested with the engine test kit: each scenario is a static nested class (which Surefire
 * skips; {@link TestKitOnly} skips it when run any other way) run in a fresh engine run.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StageTeardownTest {
    static final Duration WAIT = Duration.ofSeconds(60);

    static volatile long pid;
    static volatile Stage otherStage;
    static volatile CountDownLatch unitStarted;
    static volatile Concurrency shared;
    static volatile Transport transport;
    static volatile Path socketDirectory;

    @BeforeEach
    void forget() {
        pid = -1;
        otherStage = null;
        unitStarted = new CountDownLatch(1);
        shared = null;
        transport = null;
        socketDirectory = null;
        IgnoresStop.release = false;
        IgnoresStop.thread = null;
        IgnoresStop.started = new CountDownLatch(1);
    }

    @AfterEach
    void killWhatABrokenHarnessLeft() {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    static Events runInParallel(Class<?> testClass) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass))
                .configurationParameter(StageExtensionTest.TEST_KIT_PARAMETER, "true")
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .configurationParameter("junit.jupiter.execution.parallel.mode.default", "concurrent")
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism", "4")
                .execute().testEvents();
    }

    /** Asserts that every one of {@code tests} nested tests passed, naming each failure and its cause otherwise. */
    static void assertPassed(Events events, int tests) {
        List<String> failures = events.failed().stream().map(e -> e.getTestDescriptor().getDisplayName() + " failed: "
                + e.getPayload(TestExecutionResult.class).flatMap(TestExecutionResult::getThrowable).map(String::valueOf).orElse("?"))
                .toList();
        assertEquals(List.of(), failures, "the nested tests' failures");
        events.assertStatistics(stats -> stats.started(tests).succeeded(tests).failed(0));
    }

    /** Waits up to {@link #WAIT} for {@code condition}, failing with {@code what} otherwise. */
    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + WAIT.toSeconds() + " s waiting until " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    static void await(String what, CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(WAIT.toSeconds(), TimeUnit.SECONDS), () -> "timed out after " + WAIT.toSeconds() + " s waiting until " + what);
    }

    static boolean isAlive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    // ---- item 10: a stage leaves the processes of other stages alone ----

    @TestKitOnly
    @StagecrewTest
    @Execution(ExecutionMode.CONCURRENT)
    static class TwoTestsRunAtOnce {
        @Test
        void keepsItsUnitWhileTheOtherTestsStageCloses(Stage stage) throws Exception {
            await("the other test's stage is open", () -> otherStage != null);
            Concurrency echo = stage.process(HarnessTasks.EchoTask.class).name("survivor").start();
            pid = Long.parseLong(askPid(stage.transport(), echo));
            unitStarted.countDown();
            Path other = otherStage.socketDirectory();
            await("the other test's stage has closed and deleted " + other, () -> !Files.exists(other, LinkOption.NOFOLLOW_LINKS));

            assertTrue(echo.isAlive(), "closing the other test's stage left this stage's unit alone");
            HarnessTasks.sendAndWait(stage.transport(), echo.address(), "still here");
            assertEquals("still here", HarnessTasks.receiveText(stage.transport()));
        }

        @Test
        void closesItsStageWhileTheOtherTestRuns(Stage stage) throws Exception {
            stage.transport();
            otherStage = stage;
            await("the other test has started its unit", unitStarted);
        }
    }

    @Test
    void closingOneParallelTestsStageLeavesTheOtherTestsUnitsAlone() {
        assertPassed(runInParallel(TwoTestsRunAtOnce.class), 2);

        assertFalse(isAlive(pid), "the survivor was stopped by its own stage");
    }

    @TestKitOnly
    @StagecrewTest
    @Execution(ExecutionMode.CONCURRENT)
    static class StartsAProcessWithoutAStageBesideAnotherTest {
        static volatile Stage first;

        @Test
        void startsAProcessOfItsOwn(Stage stage) throws Exception {
            first = stage;
            await("the other test's stage is open", () -> otherStage != null);
            pid = new ProcessBuilder("sleep", "300").start().pid();
        }

        @Test
        void keepsItsStageOpenMeanwhile(Stage stage) {
            otherStage = stage;
            await("the other test's stage has closed", () -> first != null && !Files.exists(first.socketDirectory(), LinkOption.NOFOLLOW_LINKS));
        }
    }

    @Test
    void aProcessNoStageStartedIsLeftToHygieneWhenAnotherStageWasOpen() {
        StartsAProcessWithoutAStageBesideAnotherTest.first = null;
        assertPassed(runInParallel(StartsAProcessWithoutAStageBesideAnotherTest.class), 2);

        assertTrue(isAlive(pid), "it may be another running test's, so no stage killed it");
        assertTrue(Hygiene.problems().stream().anyMatch(p -> p.contains("child process of this JVM still alive: pid " + pid)),
                () -> "Hygiene reports it: " + Hygiene.problems());
    }

    @TestKitOnly
    @StagecrewTest
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class ClassStageNextToTestStages {
        static Stage classStage;

        @BeforeAll
        static void keep(Stage stage) {
            classStage = stage;
        }

        @Test
        @Order(1)
        void startsAUnitOnTheClassStage(Stage own) throws Exception {
            own.transport();
            shared = classStage.process(HarnessTasks.EchoTask.class).name("shared").start();
            pid = Long.parseLong(askPid(own.transport(), shared));
        }

        @Test
        @Order(2)
        void theClassStagesUnitStillAnswers(Stage own) throws Exception {
            assertTrue(shared.isAlive(), "the first test's stage left the class stage's unit alone");
            HarnessTasks.sendAndWait(own.transport(), shared.address(), "shared");
            assertEquals("shared", HarnessTasks.receiveText(own.transport()));
        }
    }

    @Test
    void aTestsStageLeavesAUnitOfTheClassStageAlone() {
        assertPassed(run(ClassStageNextToTestStages.class), 2);

        assertFalse(isAlive(pid), "the class stage stopped its unit after the class");
    }

    // ---- item 11: a thread unit that ignores stop is a problem, and cannot keep the JVM alive ----

    /** Ignores stop requests and interrupts until the outer test releases it. */
    static final class IgnoresStop implements Task {
        static volatile boolean release;
        static volatile Thread thread;
        static volatile CountDownLatch started;

        @Override
        public void run(TaskContext ctx) {
            thread = Thread.currentThread();
            started.countDown();
            while (!release) {
                Thread.interrupted();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // the misbehaviour under test, not synchronisation
            }
        }
    }

    @TestKitOnly
    @StagecrewTest(stopTimeoutMillis = 300)
    static class HasAThreadUnitThatIgnoresStop {
        @Test
        void startsIt(Stage stage) throws Exception {
            stage.thread(new IgnoresStop()).name("deaf").start();
            await("the thread unit runs", IgnoresStop.started);
        }
    }

    @Test
    void aThreadUnitStillRunningAfterTheKillFailsTheTestAndCannotKeepTheJvmAlive() throws Exception {
        try {
            Throwable failure = onlyFailure(run(HasAThreadUnitThatIgnoresStop.class));

            assertContains(failure.getMessage(), "thread unit deaf", "still running", "IgnoresStop.run");
            assertNotNull(IgnoresStop.thread);
            assertTrue(IgnoresStop.thread.isAlive(), "nothing can kill a Java thread; the stage reports it instead");
            assertTrue(IgnoresStop.thread.isDaemon(), "a stage's thread unit runs in a daemon thread, which cannot keep the JVM alive");
        } finally {
            IgnoresStop.release = true;
            if (IgnoresStop.thread != null) {
                IgnoresStop.thread.join(WAIT.toMillis());
            }
        }
    }

    // ---- item 12: an adopted abstract-namespace daemon ----

    @TestKitOnly
    @StagecrewTest
    static class AdoptsADaemonAtAnAbstractAddress {
        @Test
        void adoptsIt(Stage stage) throws Exception {
            transport = stage.transport();
            socketDirectory = stage.socketDirectory();
            Concurrency daemon = Concurrency.daemon(HarnessTasks.EchoTask.class).name("abstract-echo")
                    .transportConfig(stage.config().toBuilder().useAbstractNamespace(true).build())
                    .logDirectory(stage.logDirectory()).start();
            assertTrue(daemon.address().isAbstract());
            pid = Long.parseLong(askPid(transport, daemon));
            stage.adopt(daemon.address());
        }
    }

    @Test
    void anAdoptedAbstractDaemonIsStoppedAndEveryOtherTeardownStepStillRuns() {
        assertPassed(run(AdoptsADaemonAtAnAbstractAddress.class), 1);

        assertFalse(transport.isOpen(), "the stage closed its transport");
        assertFalse(Files.exists(socketDirectory, LinkOption.NOFOLLOW_LINKS), "the stage deleted its socket directory");
        assertFalse(isAlive(pid), "the stage stopped the adopted daemon");
    }

    @Test
    void closeRunsEveryStepWhenAnAdoptedAddressCannotBeStopped() {
        Stage stage = Stage.builder("abstract-nobody").open();
        Transport t = stage.transport();
        stage.adopt(org.stagecrew.transport.Address.abstractName("sc-nobody-" + System.nanoTime()));

        stage.close(); // nothing listens there: nothing to stop, nothing left behind

        assertFalse(t.isOpen(), "the transport was closed");
        assertFalse(Files.exists(stage.socketDirectory(), LinkOption.NOFOLLOW_LINKS), "the directory was deleted");
    }

    @Test
    void closeRunsEveryLaterStepWhenOneThrows() throws Exception {
        Stage stage = Stage.builder("step-throws").open();
        Transport t = stage.transport();
        // A socket path so long that the adopted daemon's control address (path + ".ctl") exceeds sun_path.
        int room = org.stagecrew.transport.Address.MAX_PATH_BYTES - stage.socketDirectory().toString().length() - 3;
        Path longest = stage.socketDirectory().resolve("d".repeat(room));
        try (ServerSocketChannel squatter = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            squatter.bind(UnixDomainSocketAddress.of(longest));
            stage.adopt(org.stagecrew.transport.Address.of(longest));

            AssertionError failure = assertThrows(AssertionError.class, stage::close);

            assertContains(failure.getMessage(), "stage step-throws", "adopted daemon", "socket file left behind: " + longest);
        }
        assertFalse(t.isOpen(), "the transport was closed after the adopted daemon's step failed");
        assertFalse(Files.exists(stage.socketDirectory(), LinkOption.NOFOLLOW_LINKS), "the directory was deleted all the same");
        assertFalse(stage.isOpen());
        stage.close(); // a closed stage returns at once
    }

    // ---- item 13: the stage waits for the daemons it stopped to exit ----

    @TestKitOnly
    @StagecrewTest
    static class AdoptsADaemonThatIsSlowToExit {
        @Test
        void adoptsIt(Stage stage) throws Exception {
            Concurrency daemon = Concurrency.daemon(HarnessTasks.LingeringEchoTask.class).name("lingering")
                    .transportConfig(stage.config()).logDirectory(stage.logDirectory()).start();
            pid = Long.parseLong(askPid(stage.transport(), daemon));
            stage.adopt(daemon.address());
        }
    }

    @Test
    void anAdoptedDaemonThatUnlinksItsSocketBeforeItExitsPassesOnceItHasExited() {
        assertPassed(run(AdoptsADaemonThatIsSlowToExit.class), 1);

        assertFalse(isAlive(pid), "the stage waited for the daemon's JVM to exit");
    }
}
