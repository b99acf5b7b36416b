package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/**
 * Senders stream to a destination that closes meanwhile; every frame is accounted for, per sender:
 * frames whose send succeeded = frames the destination's application consumed + frames the
 * destination counted as discarded ({@link TransportStats#discardedFrames()}). With {@code
 * closeGracefully} nothing is discarded at all. Runs in every I/O mode available here.
 */
@Timeout(value = 120, unit = SECONDS)
class CloseDuringTrafficTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int SENDERS = 2;
    private static final int FRAME = 64;

    @TempDir
    Path dir;

    private TransportConfig.Builder config(IoMode mode) {
        return TransportConfig.builder().socketDirectory(dir).ioMode(mode);
    }

    private static void assumeAvailable(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
    }

    /** One sending transport on its own thread, streaming until told to stop, counting what it sent and what failed. */
    private static final class Stream implements AutoCloseable {
        final Transport transport;
        final LongAdder queued = new LongAdder();
        final LongAdder failed = new LongAdder();
        final AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Void> running;

        Stream(TransportConfig.Builder config) {
            this.transport = Transport.open(config.undeliverableHandler((to, frames, cause) -> failed.add(frames)).build());
        }

        void start(Address to) {
            running = Background.run("sender " + transport.address().toPath().getFileName(), () -> {
                ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(FRAME).writeZero(FRAME);
                try {
                    long sequence = 0;
                    while (!stop.get()) {
                        source.setLong(0, sequence);
                        try {
                            transport.send(to, source, 0, FRAME, Duration.ofMillis(20));
                            queued.increment();
                            sequence++;
                        } catch (TransportTimeoutException e) {
                            // back-pressured: this frame was not taken; try again
                        }
                    }
                } finally {
                    source.release();
                }
            });
        }

        /**
         * Stops streaming, waits until every queued frame was written or reported failed, and closes
         * the sender, after which every failure has been reported; returns the successes.
         */
        long finish() throws Exception {
            stop.set(true);
            running.get(WAIT.toSeconds(), SECONDS);
            assertTrue(transport.flush(WAIT), "sender " + transport.address() + " settled every frame within " + WAIT);
            transport.close();
            return queued.sum() - failed.sum();
        }

        @Override
        public void close() {
            stop.set(true);
            transport.close();
        }
    }

    /** Consumes frames on its own thread until the transport closes, counting them per sender. */
    private static CompletableFuture<Void> consume(Transport receiver, Map<Address, LongAdder> consumed, AtomicLong total) {
        return Background.run("consumer", () -> {
            try {
                while (true) {
                    receiver.poll(frame -> {
                        consumed.computeIfAbsent(frame.sender(), a -> new LongAdder()).increment();
                        total.incrementAndGet();
                    }, 256, Duration.ofMillis(100));
                }
            } catch (TransportClosedException e) {
                // the end of the stream
            }
        });
    }

    private void closeWhileStreaming(IoMode mode, boolean reading, boolean gracefully) throws Exception {
        assumeAvailable(mode);
        Transport receiver = Transport.open(config(mode).inboxCapacity(4096, 1 << 20).build());
        List<Stream> streams = new ArrayList<>();
        try {
            for (int i = 0; i < SENDERS; i++) {
                streams.add(new Stream(config(mode)));
            }
            Map<Address, LongAdder> consumed = new ConcurrentHashMap<>();
            AtomicLong total = new AtomicLong();
            CompletableFuture<Void> consumer = reading ? consume(receiver, consumed, total) : null;
            streams.forEach(s -> s.start(receiver.address()));
            if (reading) {
                Await.until("the receiver consumed 20,000 frames", WAIT, () -> total.get() >= 20_000);
            } else {
                Await.until("the receiver's inbox is full", WAIT, () -> ((NettyTransport) receiver).inboxFull());
            }
            long held = ((NettyTransport) receiver).inboxFrames();

            boolean drained = false;
            if (gracefully) {
                drained = receiver.closeGracefully(WAIT);
            } else {
                receiver.close();
            }
            if (consumer != null) {
                consumer.get(WAIT.toSeconds(), SECONDS);
            }

            TransportStats stats = receiver.stats();
            StringBuilder figures = new StringBuilder(mode + (reading ? " reading" : " not reading")
                    + (gracefully ? ", closeGracefully" : ", close") + ":");
            long uncounted = 0;
            long failed = 0;
            for (Stream s : streams) {
                Address sender = s.transport.address();
                long succeeded = s.finish();
                long delivered = consumed.getOrDefault(sender, new LongAdder()).sum();
                long discarded = stats.discardedFrames().getOrDefault(sender, 0L);
                figures.append(String.format(" [%s: %d succeeded = %d consumed + %d discarded; %d failed]",
                        sender.toPath().getFileName(), succeeded, delivered, discarded, s.failed.sum()));
                uncounted += succeeded - delivered - discarded;
                failed += s.failed.sum();
            }
            System.out.println("[CloseDuringTrafficTest] " + figures + " uncounted: " + uncounted);
            assertEquals(0, uncounted, "every frame whose send succeeded was consumed or counted as discarded: " + figures);
            // A sender may legitimately see no failure: everything it queued was written, and read and counted, before
            // the notice reached it (seen under load). That the close came during traffic shows in failures or discards.
            assertTrue(gracefully || failed + stats.discardedFramesTotal() > 0, "the close came during traffic: " + figures);
            if (gracefully) {
                assertTrue(drained, "closeGracefully drained everything in time: " + figures);
                assertEquals(Map.of(), stats.discardedFrames(), "an orderly shutdown discards nothing");
            } else if (!reading) {
                assertTrue(stats.discardedFramesTotal() >= held, "the " + held + " frames of the full inbox were thrown away and counted: "
                        + figures);
            }
            assertFalse(receiver.isOpen());
        } finally {
            streams.forEach(Stream::close);
            receiver.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    void closingWhileTheApplicationReadsCountsEveryFrameItThrowsAway(IoMode mode) throws Exception {
        closeWhileStreaming(mode, true, false);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    void closingWhileTheInboxIsFullCountsEveryFrameItThrowsAway(IoMode mode) throws Exception {
        closeWhileStreaming(mode, false, false);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    void closingGracefullyWhileTheApplicationReadsLosesNothing(IoMode mode) throws Exception {
        closeWhileStreaming(mode, true, true);
    }
}
