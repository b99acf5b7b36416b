package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Many transports in one JVM passing frames around a ring: transport {@code i} forwards every frame
 * it receives to transport {@code i + 1}, each on its own thread (a unit with a transport, as a
 * thread unit of the concurrency module is). Every thread first sends {@code tokens} frames, which
 * then circulate. Measures the frames forwarded per second in all, the threads of the JVM, and heap
 * and direct memory per transport as the JDK ({@code MemoryMXBean}, {@code BufferPoolMXBean}) and
 * Netty's pooled allocator count them. Verified: when the ring stops, every token is still in it.
 */
final class Ring {
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    /** A thread that has seen the stop ends after its inbox was empty for this long. */
    private static final Duration QUIET = Duration.ofMillis(500);

    private final Transport[] transports;
    private final Address[] addresses;
    /** Frames forwarded by each thread; written by that thread only. */
    private final AtomicLongArray forwarded;
    /** Frames each thread kept after the stop. */
    private final long[] held;
    private volatile boolean stopping;

    private Ring(int n) {
        transports = new Transport[n];
        addresses = new Address[n];
        forwarded = new AtomicLongArray(n * 8); // one counter per 64-byte line
        held = new long[n];
    }

    /** Runs a ring of {@code n} transports; returns " forwarded nanos verified threads loopThreads heapPerTransport directPerTransport". */
    static String run(Path directory, int n, int tokens, int size, long warmMillis, long runMillis) throws Exception {
        long[] before = memory();
        Ring ring = new Ring(n);
        Thread[] threads = new Thread[n];
        try {
            for (int i = 0; i < n; i++) {
                ring.transports[i] = Transport.open(TransportConfig.builder().socketDirectory(directory).ioMode(IoMode.AUTO)
                        .fileNamePrefix("r-").build());
                ring.addresses[i] = ring.transports[i].address();
            }
            for (int i = 0; i < n; i++) {
                int me = i;
                threads[i] = new FastThreadLocalThread(() -> ring.forward(me, tokens, size), "ring-" + i);
                threads[i].setDaemon(true);
                threads[i].start();
            }
            // Connecting a thousand transports takes a while on a busy machine: warm up once every transport forwarded about once.
            long turning = System.nanoTime() + 60_000_000_000L;
            while (ring.total() < n && System.nanoTime() < turning) {
                Thread.sleep(10); // looks at counters between phases, not a hand-off
            }
            Thread.sleep(warmMillis); // the measured window's start, not a hand-off
            long from = ring.total();
            long start = System.nanoTime();
            Thread.sleep(runMillis);
            long frames = ring.total() - from;
            long nanos = System.nanoTime() - start;
            long[] after = memory();
            int jvmThreads = ManagementFactory.getThreadMXBean().getThreadCount();
            int loopThreads = eventLoopThreads();
            ring.stopping = true;
            for (Thread t : threads) {
                t.join(60_000);
            }
            long kept = 0;
            for (long h : ring.held) {
                kept += h;
            }
            boolean verified = kept == (long) n * tokens;
            return " " + frames + " " + nanos + " " + verified + " " + jvmThreads + " " + loopThreads + " "
                    + (after[0] - before[0]) / n + " " + (after[1] - before[1]) / n;
        } finally {
            ring.stopping = true;
            for (Transport t : ring.transports) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    /** Thread {@code me}: sends its tokens, then forwards what arrives until the stop, then keeps what still comes. */
    private void forward(int me, int tokens, int size) {
        Transport transport = transports[me];
        Address next = addresses[(me + 1) % addresses.length];
        ByteBuf token = PooledByteBufAllocator.DEFAULT.directBuffer(size, size).writeZero(size);
        int slot = me * 8;
        FrameHandler handler = frame -> {
            if (stopping) {
                held[me]++;
                return;
            }
            ByteBuf p = frame.payload();
            transport.send(next, p, p.readerIndex(), p.readableBytes(), SEND_TIMEOUT);
            forwarded.lazySet(slot, forwarded.get(slot) + 1);
        };
        try {
            for (int i = 0; i < tokens; i++) {
                transport.send(next, token, 0, size, SEND_TIMEOUT);
            }
            while (!stopping) {
                transport.poll(handler, 64, POLL);
            }
            while (transport.poll(handler, 64, QUIET) > 0) {
                // keep what was on its way at the stop
            }
        } finally {
            token.release();
        }
    }

    private long total() {
        long sum = 0;
        for (int i = 0; i < transports.length; i++) {
            sum += forwarded.get(i * 8);
        }
        return sum;
    }

    /** Heap used after a full GC, and direct memory: the JDK's buffer pool plus Netty's pool where the JDK cannot see it. */
    static long[] memory() {
        System.gc();
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long direct = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                direct += pool.getMemoryUsed();
            }
        }
        if (PlatformDependent.useDirectBufferNoCleaner()) { // Netty's own direct buffers, invisible to the JDK's pool
            direct += PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        }
        return new long[] {heap, direct};
    }

    /** Live event loop threads of stagecrew transports: the shared groups' and private ones. */
    static int eventLoopThreads() {
        int loops = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("stagecrew-shared-") || t.getName().startsWith("stagecrew-io-")) {
                loops++;
            }
        }
        return loops;
    }
}
