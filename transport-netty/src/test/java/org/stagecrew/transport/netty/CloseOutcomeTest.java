package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * What a sender's close reports for the frames it had in flight to a destination that did not read:
 * a frame whose bytes reached the socket is reported written, never failed, so that a caller who
 * retries failed sends creates no duplicates; every other frame fails, and the one frame the close
 * cut in two says so. Run for each I/O mode that writes to a kernel socket (LOCAL hands over whole
 * buffers, so no write is ever partial there).
 */
@Timeout(value = 120, unit = SECONDS)
class CloseOutcomeTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** How long a poll waits once all expected frames arrived, while the sender's connection is ending. */
    private static final Duration ENDED_POLL = Duration.ofMillis(20);
    private static final int FRAME = 1000;
    private static final int ROUNDS = 3;
    /** Far above what the socket buffers, watermarks and inbox hold of {@link #FRAME}-byte frames. */
    private static final int UNBOUNDED = 200_000;

    @TempDir
    Path dir;

    static Stream<IoMode> socketModes() {
        return Stream.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.NIO);
    }

    private TransportConfig.Builder config(IoMode mode) {
        return TransportConfig.builder().socketDirectory(dir).ioMode(mode);
    }

    @ParameterizedTest
    @MethodSource("socketModes")
    void noFutureFailsWhoseFrameTheDestinationReceivesAfterTheSenderClosed(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available: " + mode.unavailabilityCause());
        long falseFailures = 0;
        long lost = 0;
        long failed = 0;
        long cut = 0;
        long sentTotal = 0;
        for (int round = 0; round < ROUNDS; round++) {
            try (Transport receiver = Transport.open(config(mode).inboxCapacity(16, 64 * 1024).build())) {
                Address to = receiver.address();
                List<CompletableFuture<Void>> futures = new ArrayList<>();
                NettyTransport sender = (NettyTransport) Transport.open(config(mode).writeBufferWaterMark(16 * 1024, 64 * 1024).build());
                try {
                    fillUntilStalled(sender, to, futures);
                } finally {
                    sender.close();
                }
                int sent = futures.size();
                sentTotal += sent;
                BitSet failures = new BitSet(sent);
                for (int seq = 0; seq < sent; seq++) {
                    try {
                        futures.get(seq).get(WAIT.toSeconds(), SECONDS);
                    } catch (ExecutionException e) {
                        failures.set(seq);
                        TransportClosedException closed = assertInstanceOf(TransportClosedException.class, e.getCause(),
                                "frame " + seq + " failed with another cause");
                        if (String.valueOf(closed.getMessage()).contains("were written")) {
                            cut++;
                        }
                    }
                }
                failed += failures.cardinality();

                BitSet received = receiveAll(receiver, sent - failures.cardinality());
                BitSet both = (BitSet) received.clone();
                both.and(failures);
                falseFailures += both.cardinality();
                BitSet neither = new BitSet(sent);
                neither.set(0, sent);
                neither.andNot(received);
                neither.andNot(failures);
                lost += neither.cardinality();
            }
        }
        System.out.printf("CloseOutcomeTest %s: %d frames sent in %d rounds, %d futures failed (%d of them cut), "
                + "%d false failures, %d lost%n", mode, sentTotal, ROUNDS, failed, cut, falseFailures, lost);
        assertTrue(failed > 0, "the close failed no future: the destination was not stalled, the test proves nothing");
        assertEquals(0, lost, "frames neither received nor reported failed");
        assertEquals(0, falseFailures, falseFailures + " of " + failed + " futures failed although the destination"
                + " received their frames: a caller that retries them sends duplicates");
        assertTrue(cut <= ROUNDS, "more than one frame per close was reported cut: " + cut);
    }

    @ParameterizedTest
    @MethodSource("socketModes")
    void blockingSendsAreReportedUndeliverableOnlyIfTheDestinationDidNotReceiveThem(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available: " + mode.unavailabilityCause());
        long sentTotal = 0;
        long reportedTotal = 0;
        long receivedTotal = 0;
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(FRAME).writeZero(FRAME);
        try {
            for (int round = 0; round < ROUNDS; round++) {
                AtomicLong reported = new AtomicLong();
                try (Transport receiver = Transport.open(config(mode).inboxCapacity(16, 64 * 1024).build())) {
                    Address to = receiver.address();
                    int sent = 0;
                    try (Transport sender = Transport.open(config(mode).writeBufferWaterMark(16 * 1024, 64 * 1024)
                            .undeliverableHandler((dest, frames, cause) -> reported.addAndGet(frames)).build())) {
                        while (true) {
                            source.setLong(0, sent);
                            try {
                                sender.send(to, source, 0, FRAME, Duration.ofMillis(300));
                            } catch (TransportTimeoutException e) {
                                break; // stalled: the destination reads nothing
                            }
                            assertTrue(++sent < UNBOUNDED, "memory is not bounded");
                        }
                    }
                    long expected = sent - reported.get();
                    BitSet received = receiveAll(receiver, (int) Math.max(0, expected));
                    sentTotal += sent;
                    reportedTotal += reported.get();
                    receivedTotal += received.cardinality();
                }
            }
        } finally {
            source.release();
        }
        System.out.printf("CloseOutcomeTest %s blocking: %d frames sent in %d rounds, %d received, %d reported undeliverable%n",
                mode, sentTotal, ROUNDS, receivedTotal, reportedTotal);
        assertTrue(reportedTotal > 0, "the close reported nothing: the destination was not stalled, the test proves nothing");
        assertEquals(sentTotal, receivedTotal + reportedTotal, "sent = received + reported undeliverable must hold: "
                + (receivedTotal + reportedTotal - sentTotal) + " frames were both received and reported");
    }

    /** Sends with futures until the sender is back-pressured and its socket is full. */
    private static void fillUntilStalled(NettyTransport sender, Address to, List<CompletableFuture<Void>> futures) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(FRAME).writeLong(futures.size()).writeZero(FRAME - Long.BYTES);
            CompletableFuture<Void> future = sender.send(to, payload);
            if (!isBackPressured(future)) {
                futures.add(future);
                if (futures.size() >= UNBOUNDED) {
                    fail(UNBOUNDED + " frames went to a destination that does not read: memory is not bounded");
                }
                continue;
            }
            if (Stalled.connection(sender, to)) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                fail("the sender never stalled within " + WAIT + " after " + futures.size() + " frames");
            }
            LockSupport.parkNanos(100_000); // back-pressured while the event loop still writes: retry
        }
    }

    private static boolean isBackPressured(CompletableFuture<Void> future) {
        if (!future.isCompletedExceptionally()) {
            return false;
        }
        try {
            future.getNow(null);
            return false;
        } catch (Exception e) {
            return e.getCause() instanceof BackPressureException;
        }
    }

    /**
     * Reads until {@code expected} frames arrived and the receiver has seen the sender's connection
     * end (so every byte the sender wrote has been read and decoded), then what is left in the inbox;
     * returns the sequence numbers.
     */
    private static BitSet receiveAll(Transport receiver, int expected) {
        BitSet received = new BitSet();
        int[] count = {0};
        FrameHandler record = frame -> {
            received.set((int) frame.payload().getLong(frame.payload().readerIndex()));
            count[0]++;
        };
        long deadline = System.nanoTime() + 3 * WAIT.toNanos();
        while (true) {
            boolean complete = count[0] >= expected;
            boolean ended = receiver.stats().get(TransportCounter.CONNECTIONS_ACTIVE) == 0;
            int handled = receiver.poll(record, 256, complete ? ENDED_POLL : WAIT);
            if (handled == 0 && complete && ended) {
                return received;
            }
            if (System.nanoTime() - deadline > 0) {
                fail("only " + count[0] + " of the " + expected + " frames whose futures succeeded arrived, and the"
                        + " sender's connection " + (ended ? "ended" : "is still open"));
            }
        }
    }
}
