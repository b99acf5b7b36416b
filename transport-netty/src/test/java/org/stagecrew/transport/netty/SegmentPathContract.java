package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongToIntFunction;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;
import org.stagecrew.transport.test.SequencedFrames;

/** The contract's segment-path part: small frames copied into per-thread segments, mixed with queued ones. */
abstract class SegmentPathContract extends BackPressureContract {

    /**
     * Small frames take the segment path: the sending thread copies them into its own pooled segment
     * for the destination and the event loop writes segments out as slices. With the watermarks of
     * {@link #smallWatermarks()} a segment holds 8 KiB and frames of up to 4092 bytes are appended;
     * with the defaults, up to 131068 bytes (half a 256 KiB segment), except owned frames of 32 KiB and
     * more, which are written from the caller's buffer. Longer frames, and future sends, go through the queue.
     */
    @Nested
    class SmallFrames {
        /** Appended to a segment with any watermarks. */
        private static final int SMALL = 64;
        /** Above the 4092 bytes appended with {@link #smallWatermarks()}, below the zero-copy threshold: queued. */
        private static final int MEDIUM = 8 * 1024;
        /** Above the 32 KiB zero-copy threshold: queued if owned, appended if copied with the default watermarks. */
        private static final int LARGE = 40 * 1024;
        /** Above the 131068 bytes appended with the default watermarks: queued, as a pooled copy if copied. */
        private static final int HUGE = 160 * 1024;
        /**
         * Far above what inbox, socket buffers (256 KiB each way) and watermarks can hold of 68-byte frames
         * (about 10,000 get through before a send times out): reaching it means memory is unbounded.
         */
        private static final int UNBOUNDED = 1 << 16;
        /** Where {@link #sendMixed} puts copied frames in its reused source buffer. */
        private static final int COPY_AT = 3;

        private Transport slowReceiver() {
            return open(config().inboxCapacity(16, 64 * 1024));
        }

        /**
         * Threads that send in bursts with pauses between them: the event loop catches up and seals
         * idle segments while their producers may be about to claim them again. Nothing may be lost,
         * doubled or reordered per thread.
         */
        @Test
        void burstySendersRacingIdleSealsLoseDoubleAndReorderNothing() throws Exception {
            int threads = 6;
            int bursts = 150;
            try (Transport receiver = open(); Transport shared = open(smallWatermarks())) {
                List<CompletableFuture<Void>> sending = new ArrayList<>();
                long[] sent = new long[threads];
                for (int source = 0; source < threads; source++) {
                    int s = source;
                    sending.add(Background.run("bursty-" + source, () -> {
                        Random random = new Random(s);
                        long seq = 0;
                        for (int b = 0; b < bursts; b++) {
                            for (int n = 1 + random.nextInt(40); n > 0; n--) {
                                shared.send(receiver.address(), SequencedFrames.payload(s, seq++), WAIT);
                            }
                            // Workload shape, not synchronisation: a pause long enough for a drain pass to find the
                            // segment idle and seal it, short enough to land inside the next pass now and then.
                            LockSupport.parkNanos(random.nextInt(200_000));
                        }
                        sent[s] = seq;
                    }));
                }
                for (CompletableFuture<Void> f : sending) {
                    f.get(WAIT.toSeconds() * 6, SECONDS);
                }
                long expected = 0;
                for (long n : sent) {
                    expected += n;
                }
                SequencedFrames.Checker checker = new SequencedFrames.Checker(threads, false);
                while (checker.received() < expected) {
                    int handled = receiver.poll(checker, 4096, WAIT);
                    assertNull(checker.firstError(), checker::firstError);
                    assertTrue(handled > 0, "no frame within " + WAIT + " after " + checker.received() + " of " + expected);
                }
                assertEquals(expected, checker.received(), "frames received");
                for (int source = 0; source < threads; source++) {
                    assertEquals(sent[source], checker.inOrder(source), "frames in order from thread " + source);
                }
                assertTrue(shared.flush(WAIT), "flush after the bursts");
            }
        }

        /**
         * One thread interleaves copied frames over three routes: transport {@code a} to two receivers
         * (blocking sends), and transport {@code b} to the first of them ({@code offer}). The thread's most
         * recent connection, and the segment it appends to, must be told apart by destination and by
         * transport: a frame appended to another route's segment would reach the wrong receiver, or come
         * from the wrong sender, or out of order.
         */
        @Test
        void oneThreadInterleavingRoutesDeliversEveryFrameOnItsOwnRouteInOrder() {
            int perRoute = 3_000;
            try (Transport first = open(); Transport second = open(); Transport a = open(); Transport b = open()) {
                ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(COPY_AT + SMALL).writeZero(COPY_AT + SMALL);
                try {
                    for (long seq = 0; seq < perRoute; seq++) {
                        mark(source, COPY_AT, seq, SMALL);
                        a.send(first.address(), source, COPY_AT, SMALL, WAIT);
                        mark(source, COPY_AT, perRoute + seq, SMALL);
                        a.send(second.address(), source, COPY_AT, SMALL, WAIT);
                        mark(source, COPY_AT, 2L * perRoute + seq, SMALL);
                        assertEquals(OfferResult.ACCEPTED, b.offer(first.address(), source, COPY_AT, SMALL), "offer of frame " + seq);
                    }
                } finally {
                    source.release();
                }
                receiveRoutes(first, List.of(a.address(), b.address()), List.of(0L, 2L * perRoute), perRoute);
                receiveRoutes(second, List.of(a.address()), List.of((long) perRoute), perRoute);
            }
        }

        /**
         * Polls until {@code perSender} frames from each of {@code senders} arrived at {@code receiver},
         * those of sender {@code i} numbered from {@code firstSeqs.get(i)} in order; fails on a frame
         * from any other sender, out of order, or altered.
         */
        private void receiveRoutes(Transport receiver, List<Address> senders, List<Long> firstSeqs, int perSender) {
            long[] next = new long[senders.size()];
            long[] received = {0};
            String[] firstError = {null};
            long expected = (long) perSender * senders.size();
            while (received[0] < expected && firstError[0] == null) {
                int handled = receiver.poll(frame -> {
                    received[0]++;
                    int route = senders.indexOf(frame.sender());
                    if (firstError[0] == null) {
                        firstError[0] = route < 0 ? "frame from " + frame.sender() + ", not one of " + senders
                                : mismatch(frame, firstSeqs.get(route) + next[route]++, SMALL);
                    }
                }, 4096, WAIT);
                assertTrue(handled > 0, "no frame at " + receiver.address() + " within " + WAIT + " after " + received[0]
                        + " of " + expected);
            }
            assertNull(firstError[0], () -> "at " + receiver.address() + ": " + firstError[0]);
            assertEquals(expected, received[0], "frames at " + receiver.address());
        }

        /** A 64 KiB high watermark: 8 KiB segments, so nine of them back-pressure the destination. */
        private TransportConfig.Builder smallWatermarks() {
            return config().writeBufferWaterMark(16 * 1024, 64 * 1024);
        }

        /** A pooled frame of {@code length} (at least 16) bytes that starts and ends with {@code seq}. */
        private ByteBuf frame(long seq, int length) {
            return ByteBufAllocator.DEFAULT.directBuffer(length)
                    .writeLong(seq).writeZero(length - 2 * Long.BYTES).writeLong(seq);
        }

        /** Marks {@code length} bytes of {@code source} from {@code index} as frame {@code seq}, as {@link #frame} does. */
        private void mark(ByteBuf source, int index, long seq, int length) {
            source.setLong(index, seq).setLong(index + length - Long.BYTES, seq);
        }

        /** Why {@code frame} is not frame {@code seq} of {@code length} bytes, or null if it is. */
        private String mismatch(Frame frame, long seq, int length) {
            ByteBuf payload = frame.payload();
            int readable = payload.readableBytes();
            if (readable < 2 * Long.BYTES) {
                return "expected frame " + seq + " of " + length + " bytes, got one of " + readable + " bytes";
            }
            long first = payload.getLong(payload.readerIndex());
            long last = payload.getLong(payload.readerIndex() + readable - Long.BYTES);
            if (readable != length || first != seq || last != seq) {
                return "expected frame " + seq + " of " + length + " bytes, got one of " + readable
                        + " bytes that starts with " + first + " and ends with " + last;
            }
            return null;
        }

        /**
         * Polls until frames {@code 0} to {@code count - 1} arrived, in order and intact, each as long as
         * {@code lengthOf} says; fails with the sender's failure if {@code sending} failed meanwhile.
         */
        private void receiveInOrder(Transport receiver, long count, LongToIntFunction lengthOf,
                CompletableFuture<?> sending) {
            long[] next = {0};
            String[] firstError = {null};
            while (next[0] < count && firstError[0] == null) {
                int handled = receiver.poll(frame -> {
                    if (firstError[0] == null) {
                        firstError[0] = mismatch(frame, next[0], lengthOf.applyAsInt(next[0]));
                    }
                    next[0]++;
                }, (int) Math.min(256, count - next[0]), WAIT);
                if (handled == 0) {
                    if (sending != null && sending.isCompletedExceptionally()) {
                        fail("the sender failed after " + next[0] + " of " + count + " frames arrived",
                                assertFailsWith(Throwable.class, sending));
                    }
                    fail("no frame arrived within " + WAIT + " after " + next[0] + " of " + count);
                }
            }
            assertNull(firstError[0], () -> firstError[0]);
        }

        /**
         * Sends 64-byte frames blocking, alternately owned and copied from one reused buffer, until a send
         * times out; returns how many frames went before.
         */
        private int sendUntilTimeout(Transport sender, Address to, Duration timeout) {
            ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(SMALL).writeZero(SMALL);
            try {
                for (int seq = 0; seq < UNBOUNDED; seq++) {
                    boolean copied = seq % 2 == 1;
                    ByteBuf payload = copied ? null : frame(seq, SMALL);
                    long start = System.nanoTime();
                    try {
                        if (copied) {
                            mark(source, 0, seq, SMALL);
                            sender.send(to, source, 0, SMALL, timeout);
                        } else {
                            sender.send(to, payload, timeout);
                        }
                    } catch (TransportTimeoutException e) {
                        Duration waited = Duration.ofNanos(System.nanoTime() - start);
                        assertTrue(waited.compareTo(timeout.minusMillis(50)) >= 0, "gave up early, after " + waited);
                        assertTrue(waited.compareTo(timeout.plus(WAIT)) < 0, "overran the timeout: " + waited);
                        assertMentions(e, to.path());
                        if (copied) {
                            assertEquals(1, source.refCnt(), "a copying send leaves the source with the caller");
                        } else {
                            assertEquals(0, payload.refCnt(), "a blocking send that times out releases its payload");
                        }
                        return seq;
                    }
                }
                return fail(UNBOUNDED + " frames of " + SMALL + " bytes went to a receiver that does not read:"
                        + " memory is not bounded");
            } finally {
                source.release();
            }
        }

        @Test
        void copiedSendsLeaveTheSourceAloneAndCarryItsBytesAsTheyWereAtTheCall() {
            int capacity = HUGE + 64;
            try (Transport receiver = open(); Transport sender = open()) {
                Address to = receiver.address();
                ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(capacity, capacity);
                try {
                    // The range is independent of the indices: the copy must neither use nor move them.
                    source.writerIndex(40).readerIndex(3);
                    List<byte[]> expected = new ArrayList<>();
                    for (int round = 0; round < 8; round++) {
                        boolean small = round % 4 < 2;
                        boolean blocking = round % 2 == 0;
                        int index = 5 + round;
                        int length = (small ? SMALL : round < 4 ? LARGE : HUGE) + round; // segment, segment, queue
                        byte[] content = new byte[capacity];
                        new Random(round).nextBytes(content);
                        source.setBytes(0, content);

                        if (blocking) {
                            sender.send(to, source, index, length, WAIT);
                        } else {
                            assertEquals(OfferResult.ACCEPTED, sender.offer(to, source, index, length),
                                    "offer of frame " + round);
                        }
                        expected.add(Arrays.copyOfRange(content, index, index + length));
                        // The caller may reuse the source as soon as the call returns: the frame must not change.
                        byte[] overwrite = new byte[capacity];
                        new Random(-1 - round).nextBytes(overwrite);
                        source.setBytes(0, overwrite);

                        String call = (blocking ? "send" : "offer") + " of " + length + " bytes";
                        assertEquals(3, source.readerIndex(), "readerIndex after the " + call);
                        assertEquals(40, source.writerIndex(), "writerIndex after the " + call);
                        assertEquals(1, source.refCnt(), "refCnt after the " + call);
                    }

                    int index = capacity - 4098;
                    IndexOutOfBoundsException beyond = assertThrows(IndexOutOfBoundsException.class,
                            () -> sender.send(to, source, index, 4099, WAIT));
                    assertMentions(beyond, "4099", String.valueOf(index));
                    IndexOutOfBoundsException beyondOffer = assertThrows(IndexOutOfBoundsException.class,
                            () -> sender.offer(to, source, index, 4099));
                    assertMentions(beyondOffer, "4099", String.valueOf(index));
                    IndexOutOfBoundsException negative = assertThrows(IndexOutOfBoundsException.class,
                            () -> sender.offer(to, source, -7, 13));
                    assertMentions(negative, "13", "-7");
                    assertEquals(1, source.refCnt(), "a refused range leaves the source with the caller");
                    sender.send(to, utf8("after"), WAIT);

                    for (int round = 0; round < expected.size(); round++) {
                        try (Frame frame = receive(receiver)) {
                            assertArrayEquals(expected.get(round), ByteBufUtil.getBytes(frame.payload()),
                                    "frame " + round + " must carry the source's bytes as they were at the call");
                        }
                    }
                    try (Frame after = receive(receiver)) {
                        assertEquals("after", after.payload().toString(UTF_8), "a refused range sent nothing");
                    }
                } finally {
                    source.release();
                }
            }
        }

        @Test
        void smallBlockingSendsTimeOutWithinABoundedNumberOfFramesWhileTheReceiverDoesNotRead() {
            try (Transport receiver = slowReceiver();
                    Transport sender = open(smallWatermarks().undeliverableHandler((to, frames, cause) -> { }))) {
                int sent = sendUntilTimeout(sender, receiver.address(), Duration.ofMillis(500));

                assertTrue(sent > 0, "not even one frame went out");
            }
        }

        @Test
        void smallOffersAreBackPressuredWhileTheReceiverDoesNotReadAndAcceptedAgainOnceItDrained() {
            try (Transport receiver = slowReceiver(); Transport sender = open(smallWatermarks())) {
                Address to = receiver.address();
                ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(SMALL).writeZero(SMALL);
                try {
                    int accepted = 0;
                    while (true) {
                        OfferResult result;
                        ByteBuf payload = null;
                        if (accepted % 2 == 1) {
                            mark(source, 0, accepted, SMALL);
                            result = sender.offer(to, source, 0, SMALL);
                            assertEquals(1, source.refCnt(), "a copying offer leaves the source with the caller");
                        } else {
                            payload = frame(accepted, SMALL);
                            result = sender.offer(to, payload);
                        }
                        if (result == OfferResult.BACK_PRESSURED) {
                            if (payload != null) {
                                assertEquals(1, payload.refCnt(), "a back-pressured offer leaves the payload with the caller");
                                payload.release();
                            }
                            break;
                        }
                        assertEquals(OfferResult.ACCEPTED, result);
                        assertTrue(++accepted < UNBOUNDED, "offers never reported back-pressure: memory is not bounded");
                    }

                    receiveInOrder(receiver, accepted, seq -> SMALL, null);

                    int seq = accepted;
                    Await.until("the sender accepts small offers again", WAIT, () -> {
                        ByteBuf payload = frame(seq, SMALL);
                        if (sender.offer(to, payload) == OfferResult.ACCEPTED) {
                            return true;
                        }
                        payload.release();
                        return false;
                    });
                    try (Frame last = receive(receiver)) {
                        assertNull(mismatch(last, seq, SMALL), "nothing was dropped");
                    }
                    assertTrue(sender.flush(WAIT), "the sender's idle segment still counts after everything was read");
                } finally {
                    source.release();
                }
            }
        }

        @Test
        void oneThreadsSmallLargeFutureAndCopiedSendsArriveInTheOrderItSentThem() throws Exception {
            int frames = 3_000;
            try (Transport receiver = open(); Transport sender = open(smallWatermarks())) {
                Address to = receiver.address();
                CompletableFuture<List<CompletableFuture<Void>>> sending = Background.call("mixed-sender", () -> {
                    List<CompletableFuture<Void>> futures = new ArrayList<>();
                    ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(COPY_AT + LARGE).writeZero(COPY_AT + LARGE);
                    try {
                        for (long seq = 0; seq < frames; seq++) {
                            sendMixed(sender, to, seq, source, futures);
                        }
                    } finally {
                        source.release();
                    }
                    return futures;
                });

                receiveInOrder(receiver, frames, this::mixedLength, sending);

                List<CompletableFuture<Void>> futures = sending.get(WAIT.toSeconds(), SECONDS);
                for (CompletableFuture<Void> future : futures) {
                    future.get(WAIT.toSeconds(), SECONDS);
                }
            }
        }

        /** The length of frame {@code seq} of {@link #sendMixed}. */
        private int mixedLength(long seq) {
            return switch ((int) (seq % 10)) {
                case 1, 6 -> MEDIUM;
                case 3, 7, 9 -> LARGE;
                default -> 16 + (int) (seq % 49);
            };
        }

        /** Sends frame {@code seq} in one of ten ways, by turns: every kind of send, small and large. */
        private void sendMixed(Transport sender, Address to, long seq, ByteBuf source,
                List<CompletableFuture<Void>> futures) {
            int length = mixedLength(seq);
            switch ((int) (seq % 10)) {
                case 0, 1, 3 -> sender.send(to, frame(seq, length), WAIT); // small, medium, large
                case 2, 6, 9 -> { // small, medium, large, copied
                    mark(source, COPY_AT, seq, length);
                    sender.send(to, source, COPY_AT, length, WAIT);
                }
                case 4, 7 -> // small, large, with a future: retried while it fails at once with back-pressure
                    Await.until("a future send of frame " + seq + " is not back-pressured", WAIT, () -> {
                        CompletableFuture<Void> future = sender.send(to, frame(seq, length));
                        if (future.isCompletedExceptionally()) {
                            assertFailsWith(BackPressureException.class, future);
                            return false;
                        }
                        futures.add(future);
                        return true;
                    });
                case 5 -> Await.until("a copying offer of frame " + seq + " is accepted", WAIT, () -> {
                    mark(source, COPY_AT, seq, length);
                    OfferResult result = sender.offer(to, source, COPY_AT, length);
                    assertTrue(result != OfferResult.CLOSED, "offer returned " + result);
                    return result == OfferResult.ACCEPTED;
                });
                default -> Await.until("an offer of frame " + seq + " is accepted", WAIT, () -> {
                    ByteBuf payload = frame(seq, length);
                    OfferResult result = sender.offer(to, payload);
                    if (result == OfferResult.ACCEPTED) {
                        return true;
                    }
                    payload.release();
                    assertEquals(OfferResult.BACK_PRESSURED, result);
                    return false;
                });
            }
        }

        @Test
        void threadsThatSentOneSmallFrameAndWentIdleNeitherBackPressureTheDestinationNorHoldUpFlush() throws Exception {
            int threads = 32; // 32 segments of 8 KiB, unsealed, would hold 256 KiB against the 64 KiB high watermark
            try (Transport receiver = open(); Transport sender = open(smallWatermarks())) {
                Address to = receiver.address();
                CountDownLatch release = new CountDownLatch(1);
                List<CompletableFuture<Void>> sent = new ArrayList<>();
                List<CompletableFuture<Void>> idle = new ArrayList<>();
                try {
                    for (int thread = 0; thread < threads; thread++) {
                        long seq = thread;
                        CompletableFuture<Void> sentOne = new CompletableFuture<>();
                        sent.add(sentOne);
                        idle.add(Background.run("idle-sender-" + thread, () -> {
                            try {
                                sender.send(to, frame(seq, SMALL), WAIT);
                                sentOne.complete(null);
                            } catch (Throwable e) {
                                sentOne.completeExceptionally(e);
                                throw e;
                            }
                            // Alive but idle, like a pool thread waiting for work: it sends nothing more.
                            release.await(WAIT.toSeconds() * 3, SECONDS);
                        }));
                    }
                    for (int thread = 0; thread < threads; thread++) {
                        try {
                            sent.get(thread).get(2 * WAIT.toSeconds(), SECONDS); // longer than the send's own timeout
                        } catch (ExecutionException e) {
                            fail("idle-sender-" + thread + " could not send its one frame: the segments of the threads"
                                    + " that went idle before it keep the destination back-pressured", e.getCause());
                        }
                    }

                    assertTrue(sender.flush(WAIT), "flush() did not return true within " + WAIT
                            + " after " + threads + " threads sent one frame each and went idle");
                    // From a thread that has sent nothing yet. (Awaited, though it should be accepted at once: the
                    // event loop clears the back-pressure flag just after the count that flush() reads drops.)
                    String what = "an offer is accepted after " + threads + " threads went idle"
                            + " (their segments must not count against the high watermark)";
                    Await.until(what, WAIT, () -> {
                        ByteBuf payload = frame(threads, SMALL);
                        if (sender.offer(to, payload) == OfferResult.ACCEPTED) {
                            return true;
                        }
                        payload.release();
                        return false;
                    });

                    Set<Long> senders = new HashSet<>();
                    for (int i = 0; i < threads; i++) {
                        try (Frame frame = receive(receiver)) {
                            long seq = frame.payload().getLong(frame.payload().readerIndex());
                            assertNull(mismatch(frame, seq, SMALL));
                            assertTrue(seq >= 0 && seq < threads && senders.add(seq), "unexpected frame " + seq);
                        }
                    }
                    try (Frame last = receive(receiver)) {
                        assertNull(mismatch(last, threads, SMALL), "the offer after the flush arrives last");
                    }
                } finally {
                    release.countDown();
                }
                for (CompletableFuture<Void> thread : idle) {
                    thread.get(WAIT.toSeconds(), SECONDS);
                }
            }
        }

        @Test
        void aSmallFrameAboveTheReceiversMaximumIsReportedOnceAndTheFramesAroundItAreDelivered() throws Exception {
            BlockingQueue<Undelivered> undelivered = new LinkedBlockingQueue<>();
            try (Transport receiver = open(config().maxFrameLength(1024));
                    Transport sender = open(config().undeliverableHandler(
                            (to, frames, cause) -> undelivered.add(new Undelivered(to, frames, cause))))) {
                Address to = receiver.address();
                // All three take the segment path (up to 131068 bytes with the default watermarks). The sender's own
                // maximum is the default, so the sender accepts 2000 bytes; only the receiver's maximum refuses them.
                sender.send(to, frame(0, 100), WAIT);
                sender.send(to, frame(1, 2000), WAIT);
                sender.send(to, frame(2, 100), WAIT);

                try (Frame before = receive(receiver)) {
                    assertNull(mismatch(before, 0, 100));
                }
                try (Frame after = receive(receiver)) {
                    assertNull(mismatch(after, 2, 100), "the frame after the refused one arrives");
                }
                Undelivered report = undelivered.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(report, "a frame the receiver refuses must reach the undeliverable handler");
                assertEquals(to, report.destination());
                assertEquals(1, report.frames(), "frames reported");
                FrameTooLargeException cause = assertInstanceOf(FrameTooLargeException.class, report.cause());
                assertEquals(2000, cause.length());
                assertEquals(1024, cause.maxFrameLength());
                assertMentions(cause, "2000", "1024", to.path());

                sender.send(to, frame(3, 100), WAIT);
                try (Frame later = receive(receiver)) {
                    assertNull(mismatch(later, 3, 100), "the connection keeps serving");
                }
                assertNull(undelivered.poll(), "reported more than once");
                TransportStats stats = receiver.stats();
                assertEquals(new TransportStats(1, 0, 0), new TransportStats(stats.connectionsAccepted(),
                        stats.connectionsRejected(), stats.protocolErrors(), stats.discardedFrames()),
                        "one connection, never closed for an oversized frame");
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void closingASenderWithStuckSmallFramesReportsThemAsClosedAndDropsNoneSilently() throws Exception {
            BlockingQueue<Undelivered> undelivered = new LinkedBlockingQueue<>();
            AtomicInteger reported = new AtomicInteger();
            try (Transport receiver = slowReceiver();
                    Transport sender = open(smallWatermarks().undeliverableHandler((to, frames, cause) -> {
                        undelivered.add(new Undelivered(to, frames, cause));
                        reported.addAndGet(frames);
                    }))) {
                Address to = receiver.address();
                int sent = sendUntilTimeout(sender, to, Duration.ofMillis(200));

                sender.close();

                Undelivered report = undelivered.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(report, "small frames failed by close() must reach the undeliverable handler");
                for (; report != null; report = undelivered.poll()) {
                    assertEquals(to, report.destination());
                    assertTrue(report.frames() > 0, "frames reported: " + report.frames());
                    assertInstanceOf(TransportClosedException.class, report.cause());
                }
                assertTrue(reported.get() > 0, "frames reported: " + reported.get());
                // Every frame was written to the receiver's socket or reported: the receiver gets the rest.
                for (long seq = 0; seq < sent - reported.get(); seq++) {
                    try (Frame frame = receiver.receive(WAIT)) {
                        if (frame == null) {
                            fail("of " + sent + " frames sent, " + reported.get() + " were reported and " + seq
                                    + " arrived within " + WAIT + ": the others vanished silently");
                        }
                        assertNull(mismatch(frame, seq, SMALL));
                    }
                }
            }
        }
    }
}
