package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;

/** The units of {@link SlowConsumerIT}. */
public final class SlowTasks {
    static final int FRAME = 64 * 1024;
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(60);

    private SlowTasks() {
    }

    /**
     * On each {@code RUN <frames>} from its parent, sends that many checked 64 KiB frames to
     * {@code peers[0]} with the blocking send, while a thread samples this JVM's heap (MemoryMXBean:
     * used, and what the last collection left of each pool) and direct memory (the JDK's "direct" buffer pool and Netty's own counter) every 5 ms; then
     * reports {@code SENT} with the peaks. Runs until stopped.
     */
    public static final class Producer implements Task {
        @Override
        public void run(TaskContext ctx) throws InterruptedException {
            Transport transport = ctx.transport();
            Address consumer = ctx.peers().get(0);
            CheckedFrames encoder = new CheckedFrames(FRAME, FRAME);
            long seq = 0;
            while (!ctx.isStopRequested()) {
                try (Frame command = transport.receive(Duration.ofMillis(500))) {
                    if (command == null) {
                        continue;
                    }
                    long frames = Long.parseLong(Reports.text(command).substring("RUN ".length()));
                    Sampler sampler = new Sampler();
                    sampler.start();
                    long start = System.nanoTime();
                    for (long end = seq + frames; seq < end; seq++) {
                        transport.send(consumer, encoder.encode(0, seq), SEND_TIMEOUT);
                    }
                    boolean flushed = transport.flush(SEND_TIMEOUT);
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    sampler.stop();
                    Reports.send(transport, ctx.parent(), "SENT frames=" + frames + " bytes=" + frames * FRAME + " ms=" + millis
                            + " flushed=" + flushed + " samples=" + sampler.samples.get() + " peakHeap=" + sampler.peakHeap.get() + " peakLiveHeap=" + sampler.peakLiveHeap.get()
                            + " peakDirectPool=" + sampler.peakDirectPool.get() + " peakNettyDirect=" + sampler.peakNettyDirect.get()
                            + " maxHeap=" + Runtime.getRuntime().maxMemory());
                }
            }
        }
    }

    /** Samples memory every 5 ms on a daemon thread and keeps the peaks. */
    static final class Sampler implements Runnable {
        final AtomicLong peakHeap = new AtomicLong();
        final AtomicLong peakLiveHeap = new AtomicLong();
        final AtomicLong peakDirectPool = new AtomicLong();
        final AtomicLong peakNettyDirect = new AtomicLong(-1);
        final AtomicLong samples = new AtomicLong();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        private final BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        private Thread thread;

        void start() {
            sample();
            thread = new Thread(this, "memory-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            while (running.get()) {
                sample();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // the sampling period, not synchronisation
            }
        }

        private void sample() {
            samples.incrementAndGet();
            peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
            long live = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP && pool.getCollectionUsage() != null) {
                    live += pool.getCollectionUsage().getUsed(); // what the last collection of the pool left: the live set
                }
            }
            peakLiveHeap.accumulateAndGet(live, Math::max);
            peakDirectPool.accumulateAndGet(direct.getMemoryUsed(), Math::max);
            peakNettyDirect.accumulateAndGet(PlatformDependent.usedDirectMemory(), Math::max);
        }

        void stop() throws InterruptedException {
            running.set(false);
            thread.join(TimeUnit.SECONDS.toMillis(5));
            sample();
        }
    }

    /**
     * Checks every frame from {@code peers[0]} (order, length, CRC32). On {@code PHASE <nanos> <frames>}
     * from its parent it expects that many more frames and spends at least {@code nanos} on each (0:
     * as fast as it can): a deliberately slow handler that parks after each frame until its pacing
     * deadline (the point of the test, not synchronisation). When the phase's frames have arrived it
     * reports {@code CONSUMED}. Runs until stopped.
     */
    public static final class Consumer implements Task {
        @Override
        public void run(TaskContext ctx) {
            Transport transport = ctx.transport();
            Address producer = ctx.peers().get(0);
            CheckedFrames.Checker checker = new CheckedFrames.Checker(new CheckedFrames(FRAME, FRAME), Map.of(producer, 0), 1);
            long[] pace = {0};
            long[] nextDeadline = {0};
            long[] target = {Long.MAX_VALUE};
            long[] phaseStart = {0};
            long[] phaseFrames = {0};
            while (!ctx.isStopRequested()) {
                transport.poll(frame -> {
                    if (frame.sender().equals(ctx.parent())) {
                        String[] command = Reports.text(frame).split(" ");
                        pace[0] = Long.parseLong(command[1]);
                        target[0] = checker.frames() + Long.parseLong(command[2]);
                        phaseStart[0] = System.nanoTime();
                        phaseFrames[0] = checker.frames();
                        nextDeadline[0] = phaseStart[0];
                        return;
                    }
                    checker.onFrame(frame);
                    if (pace[0] > 0) {
                        nextDeadline[0] += pace[0];
                        long wait = nextDeadline[0] - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait); // the deliberate slowness of this consumer
                        }
                    }
                    if (checker.frames() == target[0]) {
                        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - phaseStart[0]);
                        Reports.send(transport, ctx.parent(), "CONSUMED frames=" + (checker.frames() - phaseFrames[0]) + " ms=" + millis
                                + " inOrder=" + checker.inOrder(0) + " " + checker.summary());
                    }
                }, 64, Duration.ofMillis(200));
            }
        }
    }
}
