package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/** The contract's back-pressure part: bounded memory for a slow or absent receiver, blocking and non-blocking sends. */
abstract class BackPressureContract extends LifecycleContract {

    @Nested
    class BackPressure {
        private static final int FRAME = 4096;
        /** Far above what inbox, socket buffers and watermarks can hold: reaching it means memory is unbounded. */
        private static final int UNBOUNDED = 8192;

        private Transport slowReceiver() {
            return open(config().inboxCapacity(16, 64 * 1024));
        }

        /** Frames still queued when the test closes the sender are undeliverable by design: no warnings for them. */
        private TransportConfig.Builder senderConfig() {
            return config().writeBufferWaterMark(16 * 1024, 64 * 1024).undeliverableHandler((to, frames, cause) -> { });
        }

        private ByteBuf frame(long seq) {
            return ByteBufAllocator.DEFAULT.directBuffer(FRAME).writeLong(seq).writeZero(FRAME - Long.BYTES);
        }

        /**
         * A send that timed out met a queue that never came down to the low watermark: the gauge shows
         * at least that, not 0 (what the drain's last pass before the socket filled had left).
         */
        private void assertQueuedGaugeAboveLowWaterMark(Transport sender) {
            long queued = sender.stats().get(TransportCounter.QUEUED_BYTES);
            int low = sender.config().writeBufferLowWaterMark();
            assertTrue(queued > low, () -> "queuedBytes " + queued + " while back-pressured, above " + low + ": " + sender.stats());
        }

        /** Sends blocking until a send times out; returns how many frames went before. */
        private int sendUntilTimeout(Transport sender, Address to, Duration timeout) {
            for (int seq = 0; seq < UNBOUNDED; seq++) {
                long start = System.nanoTime();
                try {
                    sender.send(to, frame(seq), timeout);
                } catch (TransportTimeoutException e) {
                    Duration waited = Duration.ofNanos(System.nanoTime() - start);
                    assertTrue(waited.compareTo(timeout.minusMillis(50)) >= 0, "gave up early, after " + waited);
                    assertTrue(waited.compareTo(timeout.plus(WAIT)) < 0, "overran the timeout: " + waited);
                    assertMentions(e, to.path());
                    return seq;
                }
            }
            return fail(UNBOUNDED + " frames of " + FRAME + " bytes went to a receiver that does not read:"
                    + " memory is not bounded");
        }

        /**
         * A sender that never pauses, of frames too large for a segment, to a receiver that keeps
         * up as well as it can: what is in flight must stay within the watermarks, the inbox and
         * the socket (or, in LOCAL mode, one drain pass), however far the sender runs ahead.
         */
        @Test
        void aSenderOfLargeFramesThatNeverPausesKeepsDirectMemoryBounded() throws Exception {
            int frame = 64 * 1024;
            int frames = 6_000; // 384 MiB in all: more than the bound below, so that unbounded growth shows
            long bound = 128L * 1024 * 1024;
            PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
            ByteBuf source = alloc.directBuffer(frame).writeZero(frame);
            try (Transport receiver = open(config().inboxCapacity(256, 16 * 1024 * 1024)); Transport sender = open()) {
                long[] received = {0};
                CompletableFuture<Void> consumer = Background.run("consumer", () -> {
                    while (received[0] < frames) {
                        received[0] += receiver.poll(f -> { }, 64, WAIT);
                    }
                });
                long peak = 0;
                for (int i = 0; i < frames; i++) {
                    sender.send(receiver.address(), source, 0, frame, WAIT);
                    if (i % 100 == 0) {
                        peak = Math.max(peak, liveDirectBytes(alloc));
                        assertTrue(peak < bound, "pooled direct buffers of " + (peak >> 20) + " MiB were alive after " + i
                                + " frames of " + frame + " bytes: the path from sender to inbox is not bounded");
                    }
                }
                consumer.get(WAIT.toSeconds() * 3, SECONDS);
            } finally {
                source.release();
            }
        }

        /** Bytes of the pooled direct buffers alive now (not the pool's chunks, which fragmentation inflates). */
        private long liveDirectBytes(PooledByteBufAllocator alloc) {
            long bytes = 0;
            for (PoolArenaMetric arena : alloc.metric().directArenas()) {
                bytes += arena.numActiveBytes();
            }
            return bytes;
        }

        @Test
        void aBlockingSendTimesOutWhileTheReceiverDoesNotRead() {
            try (Transport receiver = slowReceiver(); Transport sender = open(senderConfig())) {
                int sent = sendUntilTimeout(sender, receiver.address(), Duration.ofMillis(500));

                assertTrue(sent > 0, "not even one frame went out");
                assertQueuedGaugeAboveLowWaterMark(sender);
            }
        }

        @Test
        void anOfferIsBackPressuredLeavesTheBufferWithTheCallerAndIsAcceptedAgainOnceTheReceiverReads() {
            try (Transport receiver = slowReceiver(); Transport sender = open(senderConfig())) {
                Address to = receiver.address();
                int accepted = 0;
                while (true) {
                    ByteBuf payload = frame(accepted);
                    OfferResult result = sender.offer(to, payload);
                    if (result == OfferResult.BACK_PRESSURED) {
                        assertEquals(1, payload.refCnt(), "a back-pressured offer leaves the payload with the caller");
                        payload.release();
                        break;
                    }
                    assertEquals(OfferResult.ACCEPTED, result);
                    assertTrue(++accepted < UNBOUNDED, "offers never reported back-pressure: memory is not bounded");
                }

                long[] next = {0};
                long[] outOfOrder = {0};
                while (next[0] < accepted) {
                    int handled = receiver.poll(frame -> {
                        if (frame.payload().getLong(frame.payload().readerIndex()) != next[0]++) {
                            outOfOrder[0]++;
                        }
                    }, 64, WAIT);
                    assertTrue(handled > 0, "no frame within " + WAIT + " after " + next[0] + " of " + accepted);
                }
                assertEquals(0, outOfOrder[0], "frames out of order");

                int seq = accepted;
                Await.until("the sender accepts offers again", WAIT, () -> {
                    ByteBuf payload = frame(seq);
                    if (sender.offer(to, payload) == OfferResult.ACCEPTED) {
                        return true;
                    }
                    payload.release();
                    return false;
                });
                try (Frame last = receive(receiver)) {
                    assertEquals(seq, last.payload().getLong(last.payload().readerIndex()), "nothing was dropped");
                }
            }
        }

        @Test
        void aFutureSendFailsAtOnceWithBackPressure() {
            try (Transport receiver = slowReceiver(); Transport sender = open(senderConfig())) {
                sendUntilTimeout(sender, receiver.address(), Duration.ofMillis(200));

                ByteBuf payload = frame(-1);
                assertFailsWith(BackPressureException.class, sender.send(receiver.address(), payload));
                assertEquals(0, payload.refCnt(), "the transport releases a payload it refuses");
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void closingABlockedSenderFailsPendingAndLaterSends() throws Exception {
            BlockingQueue<Undelivered> undelivered = new LinkedBlockingQueue<>();
            try (Transport receiver = slowReceiver();
                    Transport sender = open(senderConfig().undeliverableHandler(
                            (to, frames, cause) -> undelivered.add(new Undelivered(to, frames, cause))))) {
                Address to = receiver.address();
                sendUntilTimeout(sender, to, Duration.ofMillis(200));

                sender.close();

                Undelivered report = undelivered.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(report, "queued frames failed by close() must reach the undeliverable handler");
                assertEquals(to, report.destination());
                assertTrue(report.frames() > 0, "frames reported: " + report.frames());
                assertInstanceOf(TransportClosedException.class, report.cause());
                assertThrows(TransportClosedException.class, () -> sender.send(to, frame(-1), WAIT));
                assertFailsWith(TransportClosedException.class, sender.send(to, frame(-2)));
                ByteBuf refused = frame(-3);
                assertEquals(OfferResult.CLOSED, sender.offer(to, refused));
                refused.release();
            }
        }
    }
}
