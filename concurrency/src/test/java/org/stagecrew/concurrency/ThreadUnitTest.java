package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * Thread units over the in-JVM transport ({@link IoMode#LOCAL}): fast and deterministic. The tests
 * about the socket file on disk use NIO in a temporary directory, which is still fast.
 */
@Timeout(value = 30, unit = SECONDS)
class ThreadUnitTest {

    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    TransportConfig local() {
        return TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build();
    }

    TransportConfig files() {
        return TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).build();
    }

    static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    static String text(Frame frame) {
        return frame.payload().toString(StandardCharsets.UTF_8);
    }

    static <T> T await(CompletableFuture<T> future, String what) throws Exception {
        try {
            return future.get(WAIT.toSeconds(), SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("timed out after " + WAIT + " waiting for " + what, e);
        }
    }

    static void assertMentions(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(String.valueOf(e.getMessage()).contains(part),
                    () -> "message should mention '" + part + "': " + e.getMessage());
        }
    }

    static boolean socketFileExists(Address address) {
        return Files.exists(address.toPath(), LinkOption.NOFOLLOW_LINKS);
    }

    @Nested
    class RequestReply {

        @Test
        void aUnitRepliesToTheSenderOfARequestFromAnotherUnit() throws Exception {
            CompletableFuture<Address> requestSender = new CompletableFuture<>();
            CompletableFuture<String> reply = new CompletableFuture<>();
            CompletableFuture<Address> replySender = new CompletableFuture<>();
            Task server = ctx -> {
                try (Frame request = ctx.transport().receive(WAIT)) {
                    assertNotNull(request, "no request within " + WAIT);
                    requestSender.complete(request.sender());
                    ctx.transport().send(request.sender(), utf8("pong:" + text(request))).get(WAIT.toSeconds(), SECONDS);
                }
            };
            try (Concurrency b = Concurrency.thread(server).name("server").transportConfig(local()).start()) {
                Task client = ctx -> {
                    ctx.transport().send(ctx.peers().get(0), utf8("ping")).get(WAIT.toSeconds(), SECONDS);
                    try (Frame answer = ctx.transport().receive(WAIT)) {
                        assertNotNull(answer, "no reply within " + WAIT);
                        replySender.complete(answer.sender());
                        reply.complete(text(answer));
                    }
                };
                try (Concurrency a = Concurrency.thread(client).name("client").transportConfig(local())
                        .peers(b.address()).start()) {

                    assertEquals("pong:ping", await(reply, "the reply"));
                    assertEquals(a.address(), await(requestSender, "the request"), "the request carries A's address");
                    assertEquals(b.address(), await(replySender, "the reply's sender"), "the reply carries B's address");
                    assertTrue(a.join(WAIT), "client did not end");
                    assertTrue(b.join(WAIT), "server did not end");
                    assertEquals(OptionalInt.of(0), a.exitCode(), () -> "client failed: " + a.failure());
                    assertEquals(OptionalInt.of(0), b.exitCode(), () -> "server failed: " + b.failure());
                }
            }
        }
    }

    @Nested
    class Context {

        record Seen(String name, Address parent, List<Address> peers, List<String> arguments, Logger logger,
                Address address, Address transportAddress, boolean open, boolean stopRequested, String threadName) {
        }

        @Test
        void theTaskGetsItsNameParentPeersArgumentsAndALoggerNamedAfterTheUnit() throws Exception {
            Address parent = Address.of(dir.resolve("parent.sock"));
            Address peer1 = Address.of(dir.resolve("peer-1.sock"));
            Address peer2 = Address.abstractName("peer-2");
            CompletableFuture<Seen> seen = new CompletableFuture<>();
            Task task = ctx -> seen.complete(new Seen(ctx.name(), ctx.parent(), ctx.peers(), ctx.arguments(), ctx.logger(),
                    ctx.address(), ctx.transport().address(), ctx.transport().isOpen(), ctx.isStopRequested(),
                    Thread.currentThread().getName()));

            try (Concurrency unit = Concurrency.thread(task).name("context-unit").transportConfig(local())
                    .parent(parent).peers(peer1, peer2).arguments("first", "with space", "ünïcode=\"quoted\"").start()) {
                Seen s = await(seen, "the task's context");

                assertEquals("context-unit", s.name());
                assertEquals("context-unit", unit.name());
                assertEquals("context-unit", s.threadName(), "the task runs in a thread named after the unit");
                assertEquals(parent, s.parent());
                assertEquals(List.of(peer1, peer2), s.peers());
                assertEquals(List.of("first", "with space", "ünïcode=\"quoted\""), s.arguments());
                assertEquals("org.stagecrew.unit.context-unit", s.logger().getName());
                assertEquals(unit.address(), s.address());
                assertEquals(unit.address(), s.transportAddress());
                assertTrue(s.open(), "the transport is open during run");
                assertFalse(s.stopRequested());
                assertTrue(unit.join(WAIT));
            }
        }

        /**
         * Regression (found with issue 4): a built unit keeps a reference to its {@link UnitBuilder}
         * instead of a snapshot, so changing the builder after {@code build()} changes the unit (and
         * two units built from one builder share their settings).
         */
        @Test
        void changingTheBuilderAfterBuildDoesNotChangeTheBuiltUnit() throws Exception {
            CompletableFuture<Seen> seen = new CompletableFuture<>();
            Task task = ctx -> seen.complete(new Seen(ctx.name(), ctx.parent(), ctx.peers(), ctx.arguments(), ctx.logger(),
                    ctx.address(), ctx.transport().address(), ctx.transport().isOpen(), ctx.isStopRequested(), null));
            UnitBuilder builder = Concurrency.thread(task).name("original").transportConfig(local()).arguments("a");
            Concurrency unit = builder.build();

            builder.name("changed").arguments("b");

            try (Concurrency started = unit.start()) {
                Seen s = await(seen, "the task's context");
                assertEquals("original", s.name());
                assertEquals(List.of("a"), s.arguments());
                assertEquals("original", started.name());
            }
        }

        @Test
        void aUnitStartedWithoutParentPeersOrArgumentsSeesNullAndEmptyLists() throws Exception {
            CompletableFuture<Seen> seen = new CompletableFuture<>();
            Task task = ctx -> seen.complete(new Seen(ctx.name(), ctx.parent(), ctx.peers(), ctx.arguments(), ctx.logger(),
                    ctx.address(), ctx.transport().address(), ctx.transport().isOpen(), ctx.isStopRequested(), null));

            try (Concurrency unit = Concurrency.thread(task).transportConfig(local()).start()) {
                Seen s = await(seen, "the task's context");

                assertEquals(null, s.parent());
                assertEquals(List.of(), s.peers());
                assertEquals(List.of(), s.arguments());
                assertTrue(s.name().startsWith("task-"), () -> "default name of a lambda task: " + s.name());
                assertTrue(unit.join(WAIT));
            }
        }

        @Test
        void theListsTheTaskGetsCannotBeModified() throws Exception {
            CompletableFuture<Throwable> peersChange = new CompletableFuture<>();
            CompletableFuture<Throwable> argumentsChange = new CompletableFuture<>();
            Task task = ctx -> {
                peersChange.complete(assertThrows(UnsupportedOperationException.class, () -> ctx.peers().clear()));
                argumentsChange.complete(assertThrows(UnsupportedOperationException.class, () -> ctx.arguments().add("x")));
            };

            try (Concurrency unit = Concurrency.thread(task).transportConfig(local()).arguments("a").start()) {
                assertInstanceOf(UnsupportedOperationException.class, await(peersChange, "peers().clear()"));
                assertInstanceOf(UnsupportedOperationException.class, await(argumentsChange, "arguments().add()"));
                assertTrue(unit.join(WAIT));
                assertEquals(OptionalInt.of(0), unit.exitCode());
            }
        }
    }

    @Nested
    class TransportLifetime {

        @Test
        void theTransportIsOpenAndBoundDuringRunThenClosedAndUnlinkedWhenTheTaskReturns() throws Exception {
            CompletableFuture<Transport> transport = new CompletableFuture<>();
            CompletableFuture<Boolean> fileDuringRun = new CompletableFuture<>();
            CompletableFuture<Boolean> openDuringRun = new CompletableFuture<>();
            Task task = ctx -> {
                transport.complete(ctx.transport());
                openDuringRun.complete(ctx.transport().isOpen());
                fileDuringRun.complete(socketFileExists(ctx.address()));
            };

            try (Concurrency unit = Concurrency.thread(task).transportConfig(files()).start()) {
                assertTrue(unit.join(WAIT), "the unit did not end");

                assertTrue(openDuringRun.get(), "open during run");
                assertTrue(fileDuringRun.get(), "socket file bound during run");
                assertFalse(await(transport, "the transport").isOpen(), "closed after run");
                assertFalse(socketFileExists(unit.address()), () -> "socket file left behind: " + unit.address());
                assertEquals(OptionalInt.of(0), unit.exitCode());
                assertEquals(Optional.empty(), unit.failure());
            }
        }

        @Test
        void theTransportIsClosedAndUnlinkedWhenTheTaskThrows() throws Exception {
            CompletableFuture<Transport> transport = new CompletableFuture<>();
            CompletableFuture<Boolean> fileDuringRun = new CompletableFuture<>();
            IllegalStateException thrown = new IllegalStateException("deliberate failure in the task");
            Task task = ctx -> {
                transport.complete(ctx.transport());
                fileDuringRun.complete(socketFileExists(ctx.address()));
                throw thrown;
            };

            try (Concurrency unit = Concurrency.thread(task).transportConfig(files()).start()) {
                assertTrue(unit.join(WAIT), "the unit did not end");

                assertTrue(fileDuringRun.get(), "socket file bound during run");
                assertFalse(await(transport, "the transport").isOpen(), "closed after the throw");
                assertFalse(socketFileExists(unit.address()), () -> "socket file left behind: " + unit.address());
            }
        }

        @Test
        void startFailsWithAUnitExceptionNamingTheCauseWhenTheTransportCannotBind() {
            TransportConfig taken = TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).fileName("taken.sock").build();
            CountDownLatch release = new CountDownLatch(1);
            try (Concurrency first = Concurrency.thread(ctx -> release.await(WAIT.toSeconds(), SECONDS))
                    .name("first").transportConfig(taken).start()) {
                AtomicInteger runs = new AtomicInteger();
                Concurrency second = Concurrency.thread(ctx -> runs.incrementAndGet()).name("second").transportConfig(taken).build();

                UnitException e = assertThrows(UnitException.class, second::start);

                assertMentions(e, "unit second could not open its transport", "taken.sock");
                assertInstanceOf(AddressInUseException.class, e.getCause());
                assertFalse(second.isAlive());
                assertEquals(0, runs.get(), "the task must not run without a transport");
                assertTrue(second.join(Duration.ZERO), "a unit that failed to start has ended");
                second.close();
            } finally {
                release.countDown();
            }
        }
    }

    @Nested
    class ExitStatus {

        @Test
        void aTaskThatReturnsEndsWithExitCodeZeroAndNoFailure() {
            try (Concurrency unit = Concurrency.thread(ctx -> { }).transportConfig(local()).start()) {
                assertTrue(unit.join(WAIT));

                assertEquals(OptionalInt.of(0), unit.exitCode());
                assertEquals(Optional.empty(), unit.failure());
                assertFalse(unit.isAlive());
            }
        }

        @Test
        void aTaskThatThrowsEndsWithExitCodeOneAndTheExceptionAsItsFailure() {
            Exception thrown = new java.io.IOException("deliberate checked failure");
            try (Concurrency unit = Concurrency.thread(ctx -> {
                throw thrown;
            }).transportConfig(local()).start()) {
                assertTrue(unit.join(WAIT));

                assertEquals(OptionalInt.of(1), unit.exitCode());
                assertSame(thrown, unit.failure().orElseThrow());
                assertMentions(unit.failure().orElseThrow(), "deliberate checked failure");
            }
        }

        @Test
        void aRunningUnitHasNoExitCodeAndNoFailureYet() {
            CountDownLatch release = new CountDownLatch(1);
            try (Concurrency unit = Concurrency.thread(ctx -> release.await(WAIT.toSeconds(), SECONDS))
                    .transportConfig(local()).start()) {
                assertTrue(unit.isAlive());
                assertFalse(unit.join(Duration.ofMillis(20)), "join returns false while the task runs");
                assertEquals(OptionalInt.empty(), unit.exitCode());
                assertEquals(Optional.empty(), unit.failure());
                assertEquals(Optional.empty(), unit.logFile(), "a thread unit has no log file");

                release.countDown();

                assertTrue(unit.join(WAIT));
                assertFalse(unit.isAlive());
                assertEquals(OptionalInt.of(0), unit.exitCode());
            } finally {
                release.countDown();
            }
        }
    }

    @Nested
    class Stopping {

        @Test
        void stopEndsATaskBlockedInReceiveGracefullyAndTheTaskSeesTheStopRequest() throws Exception {
            CountDownLatch receiving = new CountDownLatch(1);
            CompletableFuture<Boolean> stopSeen = new CompletableFuture<>();
            CompletableFuture<Throwable> receiveFailure = new CompletableFuture<>();
            Task task = ctx -> {
                receiving.countDown();
                try (Frame frame = ctx.transport().receive(Duration.ofMinutes(5))) {
                    stopSeen.completeExceptionally(new AssertionError("receive returned " + frame));
                } catch (TransportException e) {
                    receiveFailure.complete(e);
                    stopSeen.complete(ctx.isStopRequested());
                    if (!ctx.isStopRequested()) {
                        throw e;
                    }
                }
            };
            try (Concurrency unit = Concurrency.thread(task).name("receiver").transportConfig(local()).start()) {
                assertTrue(receiving.await(WAIT.toSeconds(), SECONDS), "the task did not start");

                assertTrue(unit.stop(WAIT), "stop should end a task blocked in receive gracefully");

                assertTrue(await(stopSeen, "the task to see the stop"), "isStopRequested() was false when receive threw");
                assertMentions(await(receiveFailure, "receive to fail"), "receive on", "interrupted");
                assertFalse(unit.isAlive());
                assertEquals(OptionalInt.of(0), unit.exitCode(), () -> "failure: " + unit.failure());
            }
        }

        @Test
        void stopOnATaskThatIgnoresInterruptsAndStopRequestsReturnsFalseAfterTheTimeoutAndClosesItsTransport()
                throws Exception {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch running = new CountDownLatch(1);
            AtomicInteger interruptsIgnored = new AtomicInteger();
            CompletableFuture<Transport> transport = new CompletableFuture<>();
            Task stubborn = ctx -> {
                transport.complete(ctx.transport());
                running.countDown();
                while (true) {
                    try {
                        if (release.await(1, TimeUnit.MINUTES)) {
                            return;
                        }
                    } catch (InterruptedException e) {
                        interruptsIgnored.incrementAndGet(); // and keeps waiting, whatever isStopRequested says
                    }
                }
            };
            try (Concurrency unit = Concurrency.thread(stubborn).name("stubborn").transportConfig(files()).start()) {
                try {
                    assertTrue(running.await(WAIT.toSeconds(), SECONDS), "the task did not start");
                    Address address = unit.address();

                    long start = System.nanoTime();
                    boolean graceful = unit.stop(Duration.ofMillis(300));
                    Duration took = Duration.ofNanos(System.nanoTime() - start);

                    assertFalse(graceful, "the task ignored the stop, so stop must report a forced end");
                    assertTrue(took.compareTo(Duration.ofMillis(250)) >= 0, () -> "stop gave up early, after " + took);
                    assertTrue(took.compareTo(WAIT) < 0, () -> "stop overran its timeout: " + took);
                    assertFalse(await(transport, "the transport").isOpen(), "stop must close the transport of a stubborn task");
                    assertFalse(socketFileExists(address), "and unlink its socket file");
                    assertTrue(interruptsIgnored.get() >= 1, "the task was interrupted");
                    assertTrue(unit.isAlive(), "the thread itself cannot be killed");
                } finally {
                    release.countDown(); // never leave the thread behind, and let close() find it ended
                }
                assertTrue(unit.join(WAIT), "the task ends once the test releases it");
            }
        }

        @Test
        void killClosesTheTransportOfATaskBlockedInReceiveAndEndsIt() throws Exception {
            CountDownLatch receiving = new CountDownLatch(1);
            CompletableFuture<Transport> transport = new CompletableFuture<>();
            Task task = ctx -> {
                transport.complete(ctx.transport());
                receiving.countDown();
                try (Frame frame = ctx.transport().receive(Duration.ofMinutes(5))) {
                    assertEquals(null, frame);
                }
            };
            try (Concurrency unit = Concurrency.thread(task).transportConfig(local()).start()) {
                assertTrue(receiving.await(WAIT.toSeconds(), SECONDS));

                unit.kill();

                assertTrue(unit.join(WAIT), "kill should end a task blocked in receive");
                assertFalse(await(transport, "the transport").isOpen());
            }
        }

        @Test
        void stopAndCloseOnAnEndedOrUnstartedUnitReturnAtOnce() {
            Concurrency unstarted = Concurrency.thread(ctx -> { }).transportConfig(local()).build();
            assertTrue(unstarted.stop(WAIT), "nothing to stop");
            unstarted.kill();
            unstarted.close();
            assertFalse(unstarted.isAlive());

            try (Concurrency unit = Concurrency.thread(ctx -> { }).transportConfig(local()).start()) {
                assertTrue(unit.join(WAIT));
                assertTrue(unit.stop(WAIT));
                unit.close();
                unit.close();
                assertEquals(OptionalInt.of(0), unit.exitCode());
            }
        }

        /**
         * Regression (found with issue 4): a process unit whose task throws because it was asked to
         * stop ends with code 0 ({@code UnitMain}: "ended after a stop request"), but a thread unit
         * records the exception as its failure and reports exit code 1, although {@code stop}
         * returned true.
         */
        @Test
        void aTaskThatThrowsBecauseItWasStoppedEndsWithExitCodeZeroLikeAProcessUnit() throws Exception {
            CountDownLatch receiving = new CountDownLatch(1);
            Task task = ctx -> {
                receiving.countDown();
                try (Frame frame = ctx.transport().receive(Duration.ofMinutes(5))) {
                    assertEquals(null, frame);
                }
            };
            try (Concurrency unit = Concurrency.thread(task).transportConfig(local()).start()) {
                assertTrue(receiving.await(WAIT.toSeconds(), SECONDS));

                assertTrue(unit.stop(WAIT));

                assertEquals(OptionalInt.of(0), unit.exitCode(), () -> "failure: " + unit.failure());
                assertEquals(Optional.empty(), unit.failure());
            }
        }
    }

    @Nested
    class Misuse {

        @Test
        void startingAUnitTwiceThrowsIllegalStateException() {
            CountDownLatch release = new CountDownLatch(1);
            try (Concurrency unit = Concurrency.thread(ctx -> release.await(WAIT.toSeconds(), SECONDS))
                    .name("twice").transportConfig(local()).start()) {

                IllegalStateException e = assertThrows(IllegalStateException.class, unit::start);

                assertMentions(e, "unit twice", "already started");
            } finally {
                release.countDown();
            }
        }

        @Test
        void startingAnEndedUnitAgainThrowsIllegalStateException() {
            try (Concurrency unit = Concurrency.thread(ctx -> { }).name("ended").transportConfig(local()).start()) {
                assertTrue(unit.join(WAIT));

                IllegalStateException e = assertThrows(IllegalStateException.class, unit::start);

                assertMentions(e, "unit ended", "already started");
            }
        }

        @Test
        void addressBeforeStartThrowsIllegalStateException() {
            Concurrency unit = Concurrency.thread(ctx -> { }).name("not-yet").transportConfig(local()).build();

            IllegalStateException e = assertThrows(IllegalStateException.class, unit::address);

            assertMentions(e, "unit not-yet", "has not been started");
            assertEquals(OptionalInt.empty(), unit.exitCode());
            assertFalse(unit.isAlive());
            unit.close();
        }

        @Test
        void aNullTaskIsRejectedWithItsName() {
            NullPointerException e = assertThrows(NullPointerException.class, () -> Concurrency.thread(null));

            assertMentions(e, "task");
        }
    }
}
