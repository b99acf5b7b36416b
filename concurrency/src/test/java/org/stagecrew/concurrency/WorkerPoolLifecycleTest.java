package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.stagecrew.concurrency.WorkerPoolTest.assertMentions;
import static org.stagecrew.concurrency.WorkerPoolTest.awaitQuietly;
import static org.stagecrew.concurrency.WorkerPoolTest.frame;
import static org.stagecrew.concurrency.WorkerPoolTest.seq;

import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.concurrency.WorkerPoolTest.UncaughtExceptions;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/**
 * What a {@link WorkerPool} and its {@link Subscription}s do at their edges: closing while a
 * handler runs, handlers that throw {@link Error}s, transports closed under a subscription, racing
 * {@code serve} calls, and a pool closed from its own handler (issue 18 items 5 to 9, issue 12 item 8).
 * Over the in-JVM transport; leak detection is PARANOID.
 */
@Timeout(value = 60, unit = SECONDS)
class WorkerPoolLifecycleTest {

    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    Transport open() {
        return Transport.open(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build());
    }

    static int drain(Transport transport) {
        int drained = 0;
        while (true) {
            try (Frame frame = transport.receive(Duration.ofMillis(200))) {
                if (frame == null) {
                    return drained;
                }
                drained++;
            }
        }
    }

    @Nested
    class ClosingASubscription {

        /**
         * Issue 18 item 6: close() returned while the worker went on with the rest of its burst of
         * 256 frames, 255 handler calls after close() had returned.
         */
        @Test
        void closeWaitsForTheRunningHandlerAndNoFrameIsHandledAfterItReturns() throws Exception {
            int count = 300;
            CountDownLatch inHandler = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger calls = new AtomicInteger();
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("close-waits", 1)) {
                for (long seq = 0; seq < count; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }
                Await.until("every frame waits in the inbox", WAIT, FrameSignals.of(receiver)::hasFrames);
                Subscription subscription = pool.serve(receiver, frame -> {
                    calls.incrementAndGet();
                    inHandler.countDown();
                    awaitQuietly(release);
                });
                assertTrue(inHandler.await(WAIT.toSeconds(), SECONDS), "the handler never got a frame");

                CompletableFuture<Integer> closed = new CompletableFuture<>();
                Thread closer = new Thread(() -> {
                    subscription.close();
                    closed.complete(calls.get());
                }, "close-subscription");
                closer.setDaemon(true);
                closer.start();
                Await.until("close() waits for the handler or has returned", WAIT,
                        () -> closed.isDone() || closer.getState() == Thread.State.TIMED_WAITING);
                release.countDown();
                int callsWhenCloseReturned = closed.get(WAIT.toSeconds(), SECONDS);

                int left = drain(receiver);
                assertEquals(1, callsWhenCloseReturned, "close() returned before the running handler did, or after more frames");
                assertEquals(count - 1, left, "frames not yet handled stay in the inbox; handler calls: " + calls.get());
                assertEquals(1, calls.get(), "no handler call after close() returned");
            }
        }

        @Test
        void closeCalledFromTheHandlerItselfReturnsAtOnceAndStopsAfterThatFrame() throws Exception {
            AtomicReference<Subscription> self = new AtomicReference<>();
            CountDownLatch closedInHandler = new CountDownLatch(1);
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("close-self", 1)) {
                for (long seq = 0; seq < 10; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }
                Await.until("the frames wait in the inbox", WAIT, FrameSignals.of(receiver)::hasFrames);
                CountDownLatch served = new CountDownLatch(1);
                self.set(pool.serve(receiver, frame -> {
                    awaitQuietly(served);
                    self.get().close();
                    closedInHandler.countDown();
                }));
                served.countDown();

                assertTrue(closedInHandler.await(WAIT.toSeconds(), SECONDS), "close() from the handler did not return");
                assertEquals(9, drain(receiver));
                assertEquals(1, self.get().handled());
            }
        }
    }

    @Nested
    class HandlerErrors {

        /**
         * Issue 18 item 7: a StackOverflowError killed the worker before it rescheduled: 0 of 9
         * frames handled, hasFrames() true, failed() 0, until another frame arrived.
         */
        @Test
        void aStackOverflowErrorIsCountedAndReportedAndTheWaitingFramesAreStillHandled() throws Exception {
            List<Long> handledOk = java.util.Collections.synchronizedList(new ArrayList<>());
            try (UncaughtExceptions uncaught = new UncaughtExceptions();
                    Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("overflow", 1)) {
                for (long seq = 0; seq < 9; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }
                Await.until("the frames wait in the inbox", WAIT, FrameSignals.of(receiver)::hasFrames);

                Subscription subscription = pool.serve(receiver, frame -> {
                    if (seq(frame) == 0) {
                        throw new StackOverflowError("deliberate overflow in a handler");
                    }
                    handledOk.add(seq(frame));
                });

                Await.until("all 9 frames handled (handled " + subscription.handled() + ", ok " + handledOk.size()
                        + ", failed " + subscription.failed() + ")", WAIT, () -> handledOk.size() == 8);
                Await.until("handled() counts the 9 frames", WAIT, () -> subscription.handled() == 9);
                assertEquals(1, subscription.failed(), "the frame the handler overflowed on is counted as failed");
                assertFalse(FrameSignals.of(receiver).hasFrames());
                assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), List.copyOf(handledOk));
                Await.until("the error is reported to the uncaught-exception handler", WAIT, () -> !uncaught.seen().isEmpty());
                assertInstanceOf(StackOverflowError.class, uncaught.seen().get(0));
            }
        }
    }

    @Nested
    class ServedTransports {

        /**
         * Issue 18 item 5: the pool held a mailbox and the closed transport for every transport
         * closed without closing its subscription (500 of 500).
         */
        @Test
        void aTransportClosedWithoutItsSubscriptionIsForgottenByThePool() {
            int count = 500;
            List<WeakReference<Transport>> closed = new ArrayList<>();
            try (WorkerPool pool = WorkerPool.create("forget", 2)) {
                for (int i = 0; i < count; i++) {
                    Transport transport = open();
                    pool.serve(transport, frame -> { });
                    transport.close();
                    closed.add(new WeakReference<>(transport));
                }

                Await.until("every closed transport is unreachable", WAIT, () -> {
                    System.gc();
                    return closed.stream().filter(reference -> reference.get() != null).count() == 0;
                });
            }
        }

        /** Issue 18 item 8: two concurrent serve() calls on one transport both succeeded (2 of 300 rounds). */
        @Test
        void twoConcurrentServeCallsOnOneTransportLetExactlyOneSucceed() throws Exception {
            int rounds = 300;
            int doubles = 0;
            try (WorkerPool pool = WorkerPool.create("race", 1)) {
                for (int round = 0; round < rounds; round++) {
                    try (Transport transport = open()) {
                        CyclicBarrier barrier = new CyclicBarrier(2);
                        AtomicInteger served = new AtomicInteger();
                        Background.ThrowingRunnable serve = () -> {
                            barrier.await(WAIT.toSeconds(), SECONDS);
                            try {
                                pool.serve(transport, frame -> { });
                                served.incrementAndGet();
                            } catch (IllegalStateException expected) {
                                assertMentions(expected, "is already served by this pool");
                            }
                        };
                        CompletableFuture<Void> first = Background.run("serve-1", serve);
                        CompletableFuture<Void> second = Background.run("serve-2", serve);
                        first.get(WAIT.toSeconds(), SECONDS);
                        second.get(WAIT.toSeconds(), SECONDS);
                        if (served.get() != 1) {
                            doubles++;
                        }
                    }
                }
            }
            assertEquals(0, doubles, "rounds of " + rounds + " in which both serve() calls succeeded");
        }

        @Test
        void serveRejectsATransportWhoseFramesGoToAnEventLoopHandler() {
            TransportConfig config = TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir)
                    .eventLoopHandler(frame -> { }).build();
            try (Transport transport = Transport.open(config); WorkerPool pool = WorkerPool.create("event-loop", 1)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.serve(transport, frame -> { }));

                assertMentions(e, transport.address().toString(), "eventLoopHandler");
            }
        }

        /** Issue 12 item 8: serve() replaced a frames-available listener the user had set. */
        @Test
        void aListenerTheUserSetKeepsBeingCalledWhileThePoolServesTheTransport() throws Exception {
            AtomicInteger userCalls = new AtomicInteger();
            AtomicInteger handled = new AtomicInteger();
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("listeners", 1)) {
                FrameSignals.of(receiver).onFramesAvailable(userCalls::incrementAndGet);
                Subscription subscription = pool.serve(receiver, frame -> handled.incrementAndGet());

                sender.send(receiver.address(), frame(0), WAIT);
                Await.until("the pool handles the frame", WAIT, () -> handled.get() == 1);
                Await.until("the user's listener is called too", WAIT, () -> userCalls.get() >= 1);

                subscription.close();
                int before = userCalls.get();
                sender.send(receiver.address(), frame(1), WAIT);
                Await.until("the user's listener outlives the subscription", WAIT, () -> userCalls.get() > before);
                assertEquals(1, handled.get());
                assertEquals(1, drain(receiver));
            }
        }
    }

    @Nested
    class ClosingThePool {

        /** Issue 18 item 9: close() from a handler waited 5 s on its own worker, then interrupted it. */
        @Test
        void closeCalledFromAHandlerDoesNotWaitForItself() throws Exception {
            AtomicReference<WorkerPool> pool = new AtomicReference<>(WorkerPool.create("close-from-handler", 1));
            CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
            try (Transport receiver = open(); Transport sender = open()) {
                pool.get().serve(receiver, frame -> {
                    pool.get().close();
                    interrupted.complete(Thread.currentThread().isInterrupted());
                });
                sender.send(receiver.address(), frame(0), WAIT);

                // Within 2 s, less than the 5 s the pool would wait for its own worker.
                assertFalse(interrupted.get(2, SECONDS), "the handler was interrupted by its own close()");
            } finally {
                pool.get().close();
            }
        }

        /**
         * Issue 18 item 9: a worker blocked in poll() while another consumer held the transport's
         * inbox survived shutdownNow() and outlived close().
         */
        @Test
        void aWorkerWaitingForAnotherConsumerOfItsTransportEndsWhenThePoolCloses() throws Exception {
            CountDownLatch otherConsumerInside = new CountDownLatch(1);
            CountDownLatch releaseOtherConsumer = new CountDownLatch(1);
            try (Transport receiver = open(); Transport sender = open()) {
                for (long seq = 0; seq < 3; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }
                Await.until("the frames wait in the inbox", WAIT, FrameSignals.of(receiver)::hasFrames);
                CompletableFuture<Integer> other = Background.call("other-consumer", () -> receiver.poll(frame -> {
                    otherConsumerInside.countDown();
                    awaitQuietly(releaseOtherConsumer);
                }, 1));
                assertTrue(otherConsumerInside.await(WAIT.toSeconds(), SECONDS));
                try {
                    WorkerPool pool = WorkerPool.create("contended", 1);
                    pool.serve(receiver, frame -> { });
                    Await.until("the worker runs", WAIT, () -> workers("contended").size() == 1);

                    pool.close();

                    Await.until("the worker thread ends", WAIT, () -> workers("contended").isEmpty());
                } finally {
                    releaseOtherConsumer.countDown();
                    other.get(WAIT.toSeconds(), SECONDS);
                }
            }
        }
    }

    static List<Thread> workers(String pool) {
        List<Thread> found = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("stagecrew-worker-" + pool + "-") && t.isAlive()) {
                found.add(t);
            }
        }
        return found;
    }
}
