package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/**
 * The write-buffer high watermark bounds the real memory a connection holds, as the pooled
 * allocator counts it, not only the payload bytes: a frame copied into a pooled segment keeps the
 * whole segment alive until its write completes.
 */
@Timeout(value = 120, unit = SECONDS)
class OutboundMemoryBoundTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int LOW = 128 * 1024;
    private static final int HIGH = 256 * 1024;
    private static final int SMALL = 12;
    /** Far more sparse frames than the socket buffers and watermark take before they back-pressure. */
    private static final int UNBOUNDED = 60_000;
    /** What the stalled receiver may hold besides: its inbox (64 KiB) and read buffers (up to 256 KiB each). */
    private static final long RECEIVER_SLACK = 1024 * 1024;

    @TempDir
    Path dir;

    static Stream<IoMode> socketModes() {
        return Stream.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.NIO);
    }

    private TransportConfig.Builder config(IoMode mode) {
        return TransportConfig.builder().socketDirectory(dir).ioMode(mode);
    }

    /**
     * One small frame at a time, each sealed into its own segment before the next (the event loop
     * went idle in between), to a receiver that does not read: once the socket is full, every such
     * frame holds a whole segment in the channel while its payload is a few bytes.
     */
    @ParameterizedTest
    @MethodSource("socketModes")
    void sparseSmallFramesToAStalledReceiverHoldNoMoreDirectMemoryThanTheWatermarkAllows(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available: " + mode.unavailabilityCause());
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        ByteBuf source = alloc.directBuffer(SMALL).writeZero(SMALL);
        try (Transport receiver = Transport.open(config(mode).inboxCapacity(16, 64 * 1024).build());
                NettyTransport sender = (NettyTransport) Transport.open(config(mode).writeBufferWaterMark(LOW, HIGH)
                        .undeliverableHandler((to, frames, cause) -> { }).build())) {
            Address to = receiver.address();
            // One frame there and back first: the hello and the first reads take the pool chunks of the event
            // loops' arenas, which must not count as memory the stalled frames hold.
            sender.send(to, source, 0, SMALL, WAIT);
            try (Frame first = receiver.receive(WAIT)) {
                assertNotNull(first, "the first frame did not arrive within " + WAIT);
            }
            long before = alloc.metric().usedDirectMemory();
            int sent = 0;
            while (sender.offer(to, source, 0, SMALL) == OfferResult.ACCEPTED) {
                sent++;
                assertTrue(sent < UNBOUNDED, UNBOUNDED + " frames of " + SMALL + " bytes went to a receiver that does not"
                        + " read, and used direct memory grew by " + ((alloc.metric().usedDirectMemory() - before) >> 10) + " KiB");
                OutboundConnection connection = sender.connectionTo(to);
                assertNotNull(connection, "no connection after a send");
                Await.until("the event loop wrote and sealed the segment of frame " + sent + ", or found the socket full", WAIT,
                        () -> isSealed(connection) || connection.isSocketFull());
            }
            long held = alloc.metric().usedDirectMemory() - before;
            // The pool takes memory from the JDK a chunk at a time: round the real bound up to chunks, plus one for fragmentation.
            long chunk = alloc.metric().chunkSize();
            long real = 2L * HIGH + ChunkPacker.CHUNK_SIZE + RECEIVER_SLACK;
            long bound = (real + chunk - 1) / chunk * chunk + chunk;
            System.out.printf("OutboundMemoryBoundTest %s: %d sparse frames of %d bytes (%d KiB with headers) grew the pool's"
                    + " used direct memory by %d KiB; bound %d KiB%n", mode, sent, SMALL, (long) sent * (SMALL + 4) >> 10, held >> 10, bound >> 10);
            assertTrue(held <= bound, sent + " sparse frames of " + SMALL + " bytes grew the pool's used direct memory by "
                    + (held >> 10) + " KiB, above " + (bound >> 10) + " KiB (twice the high watermark of " + (HIGH >> 10)
                    + " KiB, one chunk and the receiver's buffers, in whole pool chunks of " + (chunk >> 10) + " KiB)");
        } finally {
            source.release();
        }
    }

    /** Whether the calling thread's current segment on {@code connection} was sealed by the event loop. */
    private static boolean isSealed(OutboundConnection connection) {
        Appenders.Appender appender = Appenders.existing(connection);
        Segment segment = appender == null ? null : appender.segment;
        return segment == null || (segment.state() & Segment.SEALED) != 0;
    }

}
