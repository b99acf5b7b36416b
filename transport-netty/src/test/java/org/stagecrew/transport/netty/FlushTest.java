package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Background;

/**
 * {@link Transport#flush} parks its caller until the event loop signals that everything queued was
 * written or failed: hundreds of threads waiting on a destination that does not read cost no CPU,
 * and return as soon as it reads. An interrupted caller gets {@code false} at once.
 */
@Timeout(value = 120, unit = SECONDS)
class FlushTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int FLUSHERS = 300;
    private static final Duration STALLED_WAIT = Duration.ofSeconds(1);
    /**
     * CPU that {@link #FLUSHERS} threads may use together while each waits {@link #STALLED_WAIT}:
     * parking and one wake-up cost microseconds per thread; polling every 200 µs costs seconds.
     */
    private static final long CPU_LIMIT_NANOS = 300_000_000L;
    private static final int FRAME = 4096;

    @TempDir
    Path dir;

    @BeforeEach
    void requireCpuTime() {
        Assumptions.assumeTrue(ManagementFactory.getThreadMXBean().isCurrentThreadCpuTimeSupported(),
                "this JVM cannot measure thread CPU time");
    }

    private TransportConfig.Builder config() {
        return TransportConfig.builder().socketDirectory(dir);
    }

    /** Offers frames until the destination, which does not read, back-pressures the sender and its socket is full. */
    private static int fill(Transport transport, Address to) {
        NettyTransport sender = (NettyTransport) transport;
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(FRAME).writeZero(FRAME);
        long deadline = System.nanoTime() + WAIT.toNanos();
        try {
            int sent = 0;
            while (true) {
                if (sender.offer(to, source, 0, FRAME) == OfferResult.ACCEPTED) {
                    assertTrue(++sent < 100_000, "a destination that does not read never back-pressured the sender");
                    continue;
                }
                if (Stalled.connection(sender, to)) {
                    return sent;
                }
                assertTrue(System.nanoTime() - deadline < 0, "the sender never stalled within " + WAIT);
                LockSupport.parkNanos(100_000); // back-pressured while the event loop still writes: retry
            }
        } finally {
            source.release();
        }
    }

    @Test
    void hundredsOfFlushersWaitingOnAStalledDestinationBurnNoCpuAndAllReturnTrueOnceItReads() throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        try (Transport receiver = Transport.open(config().inboxCapacity(16, 64 * 1024).build());
                Transport sender = Transport.open(config().writeBufferWaterMark(16 * 1024, 64 * 1024).build())) {
            Address to = receiver.address();
            int sent = fill(sender, to);

            AtomicLong cpu = new AtomicLong();
            List<CompletableFuture<Boolean>> stalled = new ArrayList<>();
            for (int i = 0; i < FLUSHERS; i++) {
                stalled.add(Background.call("flusher-" + i, () -> {
                    long start = threads.getCurrentThreadCpuTime();
                    boolean flushed = sender.flush(STALLED_WAIT);
                    cpu.addAndGet(threads.getCurrentThreadCpuTime() - start);
                    return flushed;
                }));
            }
            for (CompletableFuture<Boolean> f : stalled) {
                assertFalse(f.get(WAIT.toSeconds(), SECONDS), "flush returned true while the destination read nothing");
            }
            System.out.printf("FlushTest: %d flushers waiting %d ms each on a stalled destination used %.1f ms of CPU%n",
                    FLUSHERS, STALLED_WAIT.toMillis(), cpu.get() / 1e6);
            assertTrue(cpu.get() < CPU_LIMIT_NANOS, FLUSHERS + " waiting flushers used " + cpu.get() / 1_000_000
                    + " ms of CPU in " + STALLED_WAIT.toMillis() + " ms: they poll instead of parking");

            CountDownLatch waiting = new CountDownLatch(FLUSHERS);
            List<CompletableFuture<Boolean>> released = new ArrayList<>();
            for (int i = 0; i < FLUSHERS; i++) {
                released.add(Background.call("flusher-" + i, () -> {
                    waiting.countDown();
                    return sender.flush(WAIT.multipliedBy(3));
                }));
            }
            assertTrue(waiting.await(WAIT.toSeconds(), SECONDS), "flusher threads did not start");
            long[] read = {0};
            while (read[0] < sent) {
                int handled = receiver.poll(frame -> read[0]++, 256, WAIT);
                assertTrue(handled > 0, "only " + read[0] + " of " + sent + " frames arrived");
            }
            for (CompletableFuture<Boolean> f : released) {
                assertTrue(f.get(WAIT.toSeconds() * 4, SECONDS), "a flusher gave up although the destination read everything");
            }
        }
    }

    @Test
    void aFlushWithTheInterruptFlagSetReturnsFalseAtOnceAndKeepsTheFlag() {
        try (Transport receiver = Transport.open(config().inboxCapacity(16, 64 * 1024).build());
                Transport sender = Transport.open(config().writeBufferWaterMark(16 * 1024, 64 * 1024)
                        .undeliverableHandler((to, frames, cause) -> { }).build())) {
            fill(sender, receiver.address());
            Duration timeout = Duration.ofSeconds(5);
            long start = System.nanoTime();
            Thread.currentThread().interrupt();
            try {
                assertFalse(sender.flush(timeout), "flush returned true while the destination read nothing");
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status was cleared");
            } finally {
                Thread.interrupted();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            System.out.printf("FlushTest: an interrupted flush with a %d ms timeout returned after %.1f ms%n",
                    timeout.toMillis(), took.toNanos() / 1e6);
            assertTrue(took.compareTo(timeout.dividedBy(2)) < 0, "an interrupted flush took " + took.toMillis()
                    + " ms: it spins until its timeout instead of returning at once");
        }
    }

    @Test
    void aFlushWithNothingQueuedReturnsTrueEvenIfInterrupted() {
        try (Transport sender = Transport.open(config().build())) {
            Thread.currentThread().interrupt();
            try {
                assertTrue(sender.flush(Duration.ZERO));
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
        }
    }
}
