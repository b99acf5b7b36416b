package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * While the socket is full, the drain waits for it (see {@link DrainScheduler}): frames gather in
 * the sender's segments, not as thousands of small writes in the channel, and every one of them
 * arrives once the receiver reads again.
 */
@Timeout(value = 60, unit = SECONDS)
class SocketWaitTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int FRAME = 64;
    /** Writes a stalled connection may hold in its channel: a few per pass, a pass per socket drain. */
    private static final int FEW_WRITES = 64;

    @TempDir
    Path dir;

    static Stream<IoMode> socketModes() {
        return Stream.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.NIO);
    }

    /** Whether the back-pressured connection moves nothing for 200 ms: its queue and its writes in the channel stay put. */
    private static boolean settled(OutboundConnection connection) {
        if (connection == null || !connection.isBackPressured()) {
            return false;
        }
        long queued = connection.queuedBytes();
        int pending = connection.budget().pendingWrites();
        for (int i = 0; i < 40; i++) {
            LockSupport.parkNanos(5_000_000);
            if (connection.queuedBytes() != queued || connection.budget().pendingWrites() != pending) {
                return false;
            }
        }
        return true;
    }

    @ParameterizedTest
    @MethodSource("socketModes")
    void aFullSocketHoldsFewWritesInTheChannelAndLosesNoFrame(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available: " + mode.unavailabilityCause());
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(FRAME);
        TransportConfig.Builder config = TransportConfig.builder().socketDirectory(dir).ioMode(mode);
        try (Transport receiver = Transport.open(config.inboxCapacity(16, 64 * 1024).build());
                NettyTransport sender = (NettyTransport) Transport.open(config.build())) {
            Address to = receiver.address();
            long sent = 0;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                source.clear().writeLong(sent).writeZero(FRAME - Long.BYTES);
                if (sender.offer(to, source, 0, FRAME) == OfferResult.ACCEPTED) {
                    sent++;
                    continue;
                }
                if (settled(sender.connectionTo(to))) {
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    fail("the sender never stalled within " + WAIT + " after " + sent + " frames");
                }
                LockSupport.parkNanos(100_000);
            }
            OutboundConnection connection = sender.connectionTo(to);
            assertNotNull(connection);
            int pending = connection.budget().pendingWrites();
            System.out.printf("SocketWaitTest %s: %d frames of %d bytes sent until stalled, %d writes in the channel%n",
                    mode, sent, FRAME, pending);
            assertTrue(pending <= FEW_WRITES, pending + " writes wait in the channel of a connection whose socket is full"
                    + " (at most " + FEW_WRITES + " expected): the drain kept writing small slices instead of waiting for the socket");

            long received = 0;
            long expected = sent;
            long[] next = {0};
            long readDeadline = System.nanoTime() + WAIT.toNanos();
            while (received < expected) {
                received += receiver.poll(frame -> {
                    long seq = frame.payload().getLong(frame.payload().readerIndex());
                    assertEquals(next[0]++, seq, "frames out of order or lost");
                }, 4096, Duration.ofMillis(100));
                if (System.nanoTime() - readDeadline > 0) {
                    fail("received " + received + " of " + expected + " frames within " + WAIT);
                }
            }
            assertEquals(expected, received);
        } finally {
            source.release();
        }
    }
}
