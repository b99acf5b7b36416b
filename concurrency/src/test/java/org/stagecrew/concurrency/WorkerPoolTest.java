package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;
import org.stagecrew.transport.test.SequencedFrames;

/**
 * The worker pool that consumes decoded frames, over the in-JVM transport ({@link IoMode#LOCAL}).
 * Every frame a handler sees is a view that the worker releases; {@code LeakDetectionExtension}
 * fails a test whose buffers leak, shutdown paths included.
 */
@Timeout(value = 60, unit = SECONDS)
class WorkerPoolTest {

    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    TransportConfig.Builder config(IoMode mode) {
        return TransportConfig.builder().ioMode(mode).socketDirectory(dir);
    }

    Transport open() {
        return Transport.open(config(IoMode.LOCAL).build());
    }

    static ByteBuf frame(long seq) {
        return ByteBufAllocator.DEFAULT.directBuffer(Long.BYTES).writeLong(seq);
    }

    static long seq(Frame frame) {
        return frame.payload().getLong(frame.payload().readerIndex());
    }

    static void assertMentions(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(String.valueOf(e.getMessage()).contains(part),
                    () -> "message should mention '" + part + "': " + e.getMessage());
        }
    }

    /** Records what escapes to the default uncaught-exception handler while it is open. */
    static final class UncaughtExceptions implements AutoCloseable {
        private final Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        private final Queue<Throwable> seen = new ConcurrentLinkedQueue<>();

        UncaughtExceptions() {
            Thread.setDefaultUncaughtExceptionHandler((thread, e) -> seen.add(e));
        }

        List<Throwable> seen() {
            return List.copyOf(seen);
        }

        @Override
        public void close() {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Nested
    class Ordering {

        @ParameterizedTest(name = "{0} worker thread(s)")
        @ValueSource(ints = {1, 3})
        void tenThousandFramesFromOneSenderAreHandledIntactAndInOrder(int threads) {
            int count = 10_000;
            SequencedFrames.Checker checker = new SequencedFrames.Checker(1, true);
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("order", threads)) {
                Subscription subscription = pool.serve(receiver, checker);

                for (long seq = 0; seq < count; seq++) {
                    sender.send(receiver.address(), SequencedFrames.payload(0, seq), WAIT);
                }

                // handled() is written by the worker after the handler calls: reading it publishes the checker's state.
                Await.until(count + " frames handled", WAIT, () -> subscription.handled() == count);
                assertNull(checker.firstError());
                assertEquals(count, checker.inOrder(0));
                assertEquals(count, checker.received());
                assertEquals(0, subscription.failed());
                assertSame(receiver, subscription.transport());
            }
        }

        @Test
        void framesAlreadyWaitingWhenServingStartsAreHandledFirstAndInOrder() {
            Queue<Long> seen = new ConcurrentLinkedQueue<>();
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("waiting", 1)) {
                for (long seq = 0; seq < 50; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }
                Await.until("the first frames wait in the inbox", WAIT, FrameSignals.of(receiver)::hasFrames);

                Subscription subscription = pool.serve(receiver, frame -> seen.add(seq(frame)));
                for (long seq = 50; seq < 100; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }

                Await.until("100 frames handled", WAIT, () -> subscription.handled() == 100);
                List<Long> expected = new ArrayList<>();
                for (long seq = 0; seq < 100; seq++) {
                    expected.add(seq);
                }
                assertEquals(expected, List.copyOf(seen));
            }
        }
    }

    @Nested
    class ManyTransports {

        /**
         * Several transports, each fed by its own sender, share the pool: each transport's handler
         * runs serially (never two invocations at once for one transport), every frame arrives in
         * order, and one thread serves them all without starving any.
         */
        @ParameterizedTest(name = "{0} worker thread(s)")
        @ValueSource(ints = {1, 4})
        void eachTransportIsHandledSeriallyAndEveryFrameArrives(int threads) throws Exception {
            int transports = 4;
            int perTransport = 2_000;
            AtomicInteger[] inFlight = new AtomicInteger[transports];
            AtomicInteger overlaps = new AtomicInteger();
            AtomicLong outOfOrder = new AtomicLong();
            List<Transport> receivers = new ArrayList<>();
            List<Transport> senders = new ArrayList<>();
            List<Subscription> subscriptions = new ArrayList<>();
            try (WorkerPool pool = WorkerPool.create("many", threads)) {
                for (int i = 0; i < transports; i++) {
                    receivers.add(open());
                    senders.add(open());
                    AtomicInteger busy = inFlight[i] = new AtomicInteger();
                    long[] next = {0}; // touched by one worker at a time, handed over through the pool's queue
                    subscriptions.add(pool.serve(receivers.get(i), frame -> {
                        if (busy.incrementAndGet() != 1) {
                            overlaps.incrementAndGet();
                        }
                        try {
                            if (seq(frame) != next[0]++) {
                                outOfOrder.incrementAndGet();
                            }
                            Thread.onSpinWait(); // widen the window in which an overlap would show
                        } finally {
                            busy.decrementAndGet();
                        }
                    }));
                }

                List<CompletableFuture<Void>> sending = new ArrayList<>();
                for (int i = 0; i < transports; i++) {
                    Transport sender = senders.get(i);
                    Address to = receivers.get(i).address();
                    sending.add(Background.run("sender-" + i, () -> {
                        for (long seq = 0; seq < perTransport; seq++) {
                            sender.send(to, frame(seq), WAIT);
                        }
                    }));
                }
                for (CompletableFuture<Void> s : sending) {
                    s.get(WAIT.toSeconds(), SECONDS);
                }

                Await.until("every transport handled all its frames", WAIT,
                        () -> subscriptions.stream().allMatch(s -> s.handled() == perTransport));
                assertEquals(0, overlaps.get(), "two handler invocations for the same transport overlapped");
                assertEquals(0, outOfOrder.get(), "frames handled out of order");
                for (Subscription s : subscriptions) {
                    assertEquals(0, s.failed());
                }
            } finally {
                closeAll(senders);
                closeAll(receivers);
            }
        }
    }

    @Nested
    class HandlerFailures {

        @Test
        void aHandlerThatThrowsDoesNotKillTheWorkerAndIsCounted() {
            int count = 60;
            Queue<Long> handledOk = new ConcurrentLinkedQueue<>();
            try (UncaughtExceptions uncaught = new UncaughtExceptions();
                    Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("throws", 1)) {
                Subscription subscription = pool.serve(receiver, frame -> {
                    long seq = seq(frame);
                    if (seq % 20 == 3) {
                        throw new IllegalStateException("deliberate handler failure on frame " + seq);
                    }
                    handledOk.add(seq);
                });

                for (long seq = 0; seq < count; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }

                Await.until(count + " frames handled", WAIT, () -> subscription.handled() == count);
                assertEquals(3, subscription.failed(), "frames 3, 23 and 43 threw");
                assertEquals(count - 3, handledOk.size());
                assertTrue(handledOk.contains((long) count - 1), "frames after the failures are handled");
                assertFalse(handledOk.contains(3L));
                assertEquals(List.of(), uncaught.seen(), "a handler's exception must not escape the worker");
            }
        }

        @Test
        void anErrorFromAHandlerIsCountedAsAFailureAndDoesNotEscapeTheWorker() {
            // Only VirtualMachineErrors (out of memory, stack overflow) propagate; an AssertionError is a handler failure.
            try (UncaughtExceptions uncaught = new UncaughtExceptions();
                    Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("error", 1)) {
                AtomicInteger calls = new AtomicInteger();
                Subscription subscription = pool.serve(receiver, frame -> {
                    calls.incrementAndGet();
                    throw new AssertionError("deliberate error in a handler");
                });

                sender.send(receiver.address(), frame(0), WAIT);

                Await.until("the error is counted as a failure", WAIT, () -> subscription.failed() == 1);
                // handled() is published when the worker's burst ends, just after the failure is counted.
                Await.until("the frame is counted as handled", WAIT, () -> subscription.handled() == 1);
                assertEquals(1, calls.get());
                assertEquals(List.of(), uncaught.seen(), "a handler's error must not escape the worker");
            }
        }

        /**
         * Regression (found with issue 4): an {@link Error} thrown by a handler (an assertion in a
         * test handler, a StackOverflowError) escapes {@code Mailbox.run} before it resets its
         * {@code scheduled} flag, so the subscription never runs again: later frames pile up in the
         * inbox unhandled, and the sender is eventually back-pressured for good.
         */
        @Test
        void aSubscriptionKeepsServingAfterItsHandlerThrowsAnError() {
            try (UncaughtExceptions uncaught = new UncaughtExceptions();
                    Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("error-then-more", 1)) {
                Queue<Long> handledOk = new ConcurrentLinkedQueue<>();
                Subscription served = pool.serve(receiver, frame -> {
                    if (seq(frame) == 0) {
                        throw new AssertionError("deliberate error in a handler");
                    }
                    handledOk.add(seq(frame));
                });
                Subscription subscription = served;
                sender.send(receiver.address(), frame(0), WAIT);
                Await.until("the error is counted as a failure", WAIT, () -> subscription.failed() == 1);

                sender.send(receiver.address(), frame(1), WAIT);

                Await.until("a frame after the error is handled", WAIT, () -> handledOk.contains(1L));
                assertEquals(List.of(), uncaught.seen(), "a handler's error must not escape the worker");
            }
        }
    }

    @Nested
    class BackPressure {
        private static final int FRAME = 4096;
        /** Far more than inbox, socket buffers and watermarks hold: reaching it means memory is unbounded. */
        private static final int UNBOUNDED = 8192;

        /**
         * A handler blocked on a latch: the inbox fills, the transport stops reading, the sender's
         * queue reaches its high watermark and a blocking send times out. After the release every
         * frame that a send accepted arrives, in order.
         */
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO"})
        void aBlockedHandlerSlowsTheSenderDownAndEveryAcceptedFrameArrivesAfterTheRelease(IoMode mode) throws Exception {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocked = new CountDownLatch(1);
            AtomicLong next = new AtomicLong();
            AtomicLong outOfOrder = new AtomicLong();
            TransportConfig receiverConfig = config(mode).inboxCapacity(16, 64 * 1024).build();
            TransportConfig senderConfig = config(mode).writeBufferWaterMark(16 * 1024, 64 * 1024).build();
            try (Transport receiver = Transport.open(receiverConfig); Transport sender = Transport.open(senderConfig);
                    WorkerPool pool = WorkerPool.create("slow", 1)) {
                Subscription subscription = pool.serve(receiver, frame -> {
                    blocked.countDown();
                    try {
                        if (!release.await(WAIT.toSeconds() * 3, SECONDS)) {
                            throw new IllegalStateException("the test never released the handler");
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    if (seq(frame) != next.getAndIncrement()) {
                        outOfOrder.incrementAndGet();
                    }
                });
                try {
                    Address to = receiver.address();
                    int accepted = 0;
                    TransportTimeoutException timedOut = null;
                    while (timedOut == null && accepted < UNBOUNDED) {
                        ByteBuf payload = ByteBufAllocator.DEFAULT.directBuffer(FRAME).writeLong(accepted).writeZero(FRAME - Long.BYTES);
                        try {
                            sender.send(to, payload, Duration.ofMillis(500));
                            accepted++;
                        } catch (TransportTimeoutException e) {
                            timedOut = e;
                        }
                    }

                    assertNotNull(timedOut, UNBOUNDED + " frames of " + FRAME + " bytes went to a handler that never"
                            + " returned: memory is not bounded");
                    assertMentions(timedOut, to.path());
                    assertTrue(blocked.await(WAIT.toSeconds(), SECONDS), "the handler never got a frame");
                    assertTrue(accepted > 16, "only " + accepted + " frames went out before the send timed out");

                    release.countDown();

                    int sent = accepted;
                    Await.until("all " + sent + " accepted frames are handled", WAIT, () -> subscription.handled() == sent);
                    assertEquals(sent, next.get());
                    assertEquals(0, outOfOrder.get(), "frames handled out of order");
                    assertEquals(0, subscription.failed());
                } finally {
                    release.countDown();
                }
            }
        }
    }

    @Nested
    class Shutdown {

        @Test
        void closingThePoolAndThenTheTransportsWhileFramesAreQueuedReleasesEveryFrameAndThrowsNothing() throws Exception {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocked = new CountDownLatch(1);
            try (UncaughtExceptions uncaught = new UncaughtExceptions()) {
                Transport receiver = open();
                Transport sender = open();
                WorkerPool pool = WorkerPool.create("shutdown", 1);
                try {
                    Subscription subscription = pool.serve(receiver, frame -> {
                        blocked.countDown();
                        awaitQuietly(release);
                    });
                    for (long seq = 0; seq < 1_000; seq++) {
                        sender.send(receiver.address(), frame(seq), WAIT);
                    }
                    assertTrue(blocked.await(WAIT.toSeconds(), SECONDS), "the handler never got a frame");
                    Await.until("frames queued behind the blocked handler", WAIT, FrameSignals.of(receiver)::hasFrames);

                    CompletableFuture<Void> closed = new CompletableFuture<>();
                    Thread closer = new Thread(() -> {
                        try {
                            pool.close();
                            closed.complete(null);
                        } catch (Throwable e) {
                            closed.completeExceptionally(e);
                        }
                    }, "close-pool");
                    closer.setDaemon(true);
                    closer.start();
                    // TIMED_WAITING: in awaitTermination, so every mailbox is closed already.
                    Await.until("close() waits for the blocked worker", WAIT, () -> closer.getState() == Thread.State.TIMED_WAITING);
                    release.countDown();
                    closed.get(WAIT.toSeconds(), SECONDS);

                    assertTrue(subscription.handled() <= Mailbox.BURST,
                            "a closed pool stops after the burst at hand, handled: " + subscription.handled());
                    assertTrue(FrameSignals.of(receiver).hasFrames(), "frames are still queued when the transports close");
                    assertMentions(assertThrows(IllegalStateException.class, () -> pool.serve(receiver, frame -> { })),
                            "worker pool shutdown is closed");
                } finally {
                    release.countDown();
                    pool.close();
                    sender.close();
                    receiver.close();
                }
                assertFalse(receiver.isOpen());
                assertEquals(List.of(), uncaught.seen(), "nothing may escape a worker on shutdown");
            }
        }

        @Test
        void closingATransportWhileItsHandlerRunsEndsTheServingAndTheWorkerServesOthers() throws Exception {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocked = new CountDownLatch(1);
            try (UncaughtExceptions uncaught = new UncaughtExceptions();
                    Transport other = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("close-transport", 1)) {
                Transport receiver = open();
                try {
                    pool.serve(receiver, frame -> {
                        blocked.countDown();
                        awaitQuietly(release);
                    });
                    for (long seq = 0; seq < 1_000; seq++) {
                        sender.send(receiver.address(), frame(seq), WAIT);
                    }
                    assertTrue(blocked.await(WAIT.toSeconds(), SECONDS), "the handler never got a frame");

                    receiver.close(); // the batch the handler is walking and every queued one must be released
                    release.countDown();

                    AtomicInteger handledByOther = new AtomicInteger();
                    pool.serve(other, frame -> handledByOther.incrementAndGet());
                    sender.send(other.address(), frame(0), WAIT);
                    Await.until("the one worker serves another transport", WAIT, () -> handledByOther.get() == 1);
                } finally {
                    release.countDown();
                    receiver.close();
                }
                assertEquals(List.of(), uncaught.seen(), "nothing may escape a worker when its transport closes");
            }
        }

        @Test
        void servingAClosedPoolThrowsIllegalStateException() {
            try (Transport receiver = open()) {
                WorkerPool pool = WorkerPool.create("closed-pool", 2);
                pool.close();
                pool.close(); // idempotent

                IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.serve(receiver, frame -> { }));

                assertMentions(e, "worker pool closed-pool", "is closed");
            }
        }

        @Test
        void closingASubscriptionStopsHandlingAndLeavesLaterFramesInTheInboxForReceive() {
            Queue<Long> handled = new ConcurrentLinkedQueue<>();
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("unsubscribe", 1)) {
                Subscription subscription = pool.serve(receiver, frame -> handled.add(seq(frame)));
                sender.send(receiver.address(), frame(0), WAIT);
                Await.until("the first frame is handled", WAIT, () -> subscription.handled() == 1);

                subscription.close();
                subscription.close(); // idempotent
                for (long seq = 1; seq <= 3; seq++) {
                    sender.send(receiver.address(), frame(seq), WAIT);
                }

                for (long seq = 1; seq <= 3; seq++) {
                    try (Frame frame = receiver.receive(WAIT)) {
                        assertNotNull(frame, "frame " + seq + " should wait in the inbox");
                        assertEquals(seq, seq(frame));
                    }
                }
                assertEquals(List.of(0L), List.copyOf(handled));
                assertEquals(1, subscription.handled());
                assertTrue(receiver.isOpen(), "closing a subscription leaves the transport open");
            }
        }
    }

    @Nested
    class Creation {

        @ParameterizedTest
        @ValueSource(ints = {0, -1, 1025})
        void aThreadCountOutsideOneTo1024IsRejectedWithTheValue(int threads) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WorkerPool.create("bad", threads));

            assertMentions(e, "threads must be between 1 and 1024", "was: " + threads);
        }

        @Test
        void nullArgumentsAreRejectedWithTheirNames() {
            assertMentions(assertThrows(NullPointerException.class, () -> WorkerPool.create(null, 1)), "name");
            try (WorkerPool pool = WorkerPool.create("nulls", 1); Transport transport = open()) {
                FrameHandler handler = frame -> { };
                assertMentions(assertThrows(NullPointerException.class, () -> pool.serve(null, handler)), "transport");
                assertMentions(assertThrows(NullPointerException.class, () -> pool.serve(transport, null)), "handler");
            }
        }

        @Test
        void workerThreadsAreNamedAfterThePool() throws Exception {
            CompletableFuture<String> threadName = new CompletableFuture<>();
            try (Transport receiver = open(); Transport sender = open(); WorkerPool pool = WorkerPool.create("named", 1)) {
                pool.serve(receiver, frame -> threadName.complete(Thread.currentThread().getName()));
                sender.send(receiver.address(), frame(0), WAIT);

                assertEquals("stagecrew-worker-named-1", threadName.get(WAIT.toSeconds(), SECONDS));
            }
        }
    }

    static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(WAIT.toSeconds() * 3, SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void closeAll(List<Transport> transports) {
        for (Transport t : transports) {
            t.close();
        }
    }
}
