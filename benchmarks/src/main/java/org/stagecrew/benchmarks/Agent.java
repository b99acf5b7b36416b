package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;

/**
 * A benchmark JVM: takes commands from the runner as text frames on its own transport and answers
 * each with one text frame. It opens endpoints of one variant, sends, receives, echoes or pings,
 * and reports what it measured and its peak heap and direct memory.
 *
 * <pre>
 * OPEN variant n            open n endpoints            -> OK addr1 addr2 ...
 * RECEIVE                   count frames on endpoint 0  -> OK
 * RESULT expected timeoutMs wait for the count           -> OK count checksum
 * SEND dest size warmMs runMs  one thread per endpoint  -> OK measuredFrames nanos totalFrames checksum
 * ECHO dest                 send every frame back        -> OK
 * PING dest size warmup n pace minInterval wait warmupMs  round trips, HdrHistogram, after at least
 *                           warmup round trips and warmupMs of them; wait: park (long waits between
 *                           paced pings park) or spin (a busy-polling variant never sleeps)
 *                           -> OK p50 p90 p99 p999 max coP50 coP99 coP999 interval late maxLate offered (ns): back to
 *                           back, then paced at {@code pace} times that rate, one ping per minInterval ns at most
 *                           (corrected for coordinated omission), with the paced pings that left late, the most one
 *                           left late, and the share of the back-to-back rate actually offered
 * CPU                       process CPU time, wall time -> OK cpuNanos nanoTime
 * STOPIO                    stop receiving/echoing       -> OK
 * MEMORY                    peak heap and direct bytes   -> OK heap direct
 * CLOSE                     close endpoints              -> OK
 * EXIT                      end the task                 -> OK
 * </pre>
 */
public final class Agent implements Task {
    private static final Duration IDLE = Duration.ofMillis(200);

    private final List<Endpoint> endpoints = new ArrayList<>();
    // FastThreadLocalThreads, as a Netty-savvy user would use: the pooled allocator then reuses its buffer objects.
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new io.netty.util.concurrent.FastThreadLocalThread(r, "bench-io");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong checksum = new AtomicLong();
    private volatile boolean consuming;
    private Future<?> consumer;
    private volatile long peakHeap;
    private volatile long peakDirect;

    /** For the child JVM. */
    public Agent() {
    }

    @Override
    public void run(TaskContext context) throws Exception {
        Transport control = context.transport();
        Path directory = Path.of(context.arguments().get(0));
        Thread sampler = new Thread(this::sampleMemory, "bench-memory");
        sampler.setDaemon(true);
        sampler.start();
        while (!context.isStopRequested()) {
            String command;
            org.stagecrew.transport.Address from;
            try (Frame frame = control.receive(IDLE)) {
                if (frame == null) {
                    continue;
                }
                command = frame.payload().toString(StandardCharsets.UTF_8);
                from = frame.sender();
            }
            String reply;
            try {
                reply = "OK" + execute(command.split(" "), directory);
            } catch (Exception e) {
                reply = "ERROR " + command + ": " + e;
            }
            control.send(from, Unpooled.copiedBuffer(reply, StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS);
            if (command.equals("EXIT")) {
                break;
            }
        }
        closeEndpoints();
        threads.shutdownNow();
    }

    private String execute(String[] c, Path directory) throws Exception {
        switch (c[0]) {
            case "OPEN": {
                Variant variant = Variant.valueOf(c[1]);
                StringBuilder addresses = new StringBuilder();
                for (int i = 0; i < Integer.parseInt(c[2]); i++) {
                    Endpoint e = variant.open(directory);
                    endpoints.add(e);
                    addresses.append(' ').append(e.address());
                }
                return addresses.toString();
            }
            case "RECEIVE":
                received.set(0);
                checksum.set(0);
                Tally tally = new Tally();
                startConsumer(tally, () -> {
                    // Published once per poll, so that counting costs the consumer no atomic per frame.
                    checksum.set(tally.sum);
                    received.set(tally.count);
                });
                return "";
            case "RESULT": {
                long expected = Long.parseLong(c[1]);
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(c[2]));
                while (received.get() < expected && System.nanoTime() < deadline) {
                    Thread.sleep(1); // polling a counter between measurements, not in one
                }
                return " " + received.get() + " " + checksum.get();
            }
            case "SEND":
                return send(c[1], Integer.parseInt(c[2]), Long.parseLong(c[3]), Long.parseLong(c[4]));
            case "ECHO": {
                String destination = c[1];
                Endpoint echo = endpoints.get(0);
                if (echo.pushes()) { // answered on the endpoint's own I/O thread
                    echo.onFrames(payload -> {
                        try {
                            echo.sendCopy(destination, payload);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    return "";
                }
                startConsumer(payload -> {
                    try {
                        echo.sendCopy(destination, payload);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, () -> { });
                return "";
            }
            case "PING":
                return ping(c[1], Integer.parseInt(c[2]), Integer.parseInt(c[3]), Integer.parseInt(c[4]), Double.parseDouble(c[5]),
                        Long.parseLong(c[6]), "spin".equals(c[7]), TimeUnit.MILLISECONDS.toNanos(Long.parseLong(c[8])));
            case "CPU":
                return " " + ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime()
                        + " " + System.nanoTime();
            case "STOPIO":
                stopConsumer();
                for (Endpoint e : endpoints) {
                    if (e.pushes()) {
                        e.onFrames(null);
                    }
                }
                return "";
            case "MEMORY": {
                String result = " " + peakHeap + " " + peakDirect;
                peakHeap = 0;
                peakDirect = 0;
                return result;
            }
            case "CLOSE":
                closeEndpoints();
                return "";
            case "EXIT":
                return "";
            default:
                throw new IllegalArgumentException("unknown command " + c[0]);
        }
    }

    private void startConsumer(Endpoint.Sink sink, Runnable afterPoll) throws Exception {
        stopConsumer();
        consuming = true;
        Endpoint endpoint = endpoints.get(0);
        Callable<Void> loop = () -> {
            while (consuming) {
                endpoint.poll(sink, 4096, TimeUnit.MILLISECONDS.toNanos(50));
                afterPoll.run();
            }
            return null;
        };
        consumer = threads.submit(loop);
    }

    private void stopConsumer() throws Exception {
        if (consumer != null) {
            consuming = false;
            consumer.get(30, TimeUnit.SECONDS);
            consumer = null;
        }
    }

    /** Every endpoint sends from its own thread: warm-up, then the measured window, then a flush. */
    private String send(String destination, int size, long warmMillis, long runMillis) throws Exception {
        List<Future<long[]>> results = new ArrayList<>();
        for (Endpoint endpoint : endpoints) {
            results.add(threads.submit(() -> {
                try (FrameSender sender = new FrameSender(endpoint, destination, size)) {
                    sender.sendUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmMillis));
                    long measuredFrom = sender.sent();
                    long start = System.nanoTime();
                    sender.sendUntil(start + TimeUnit.MILLISECONDS.toNanos(runMillis));
                    endpoint.flush();
                    return new long[] {sender.sent() - measuredFrom, System.nanoTime() - start, sender.sent(), sender.sum()};
                }
            }));
        }
        long measured = 0;
        long nanos = 0;
        long total = 0;
        long sum = 0;
        for (Future<long[]> f : results) {
            long[] r = f.get(120, TimeUnit.SECONDS);
            measured += r[0];
            nanos = Math.max(nanos, r[1]);
            total += r[2];
            sum += r[3];
        }
        return " " + measured + " " + nanos + " " + total + " " + sum;
    }

    /** Counts received frames and sums their sequence numbers; used by the consumer thread only. */
    private static final class Tally implements Endpoint.Sink {
        long count;
        long sum;

        @Override
        public void onFrame(ByteBuf payload) {
            if (payload.readableBytes() >= Long.BYTES) {
                sum += payload.getLong(payload.readerIndex());
            }
            count++;
        }
    }

    /**
     * Back to back after the warm-up (the fastest round trips), then paced at {@code pace} times the
     * rate that reached (one ping per {@code minIntervalNanos} at most), timed from the intended send
     * times (corrected for coordinated omission).
     */
    private String ping(String destination, int size, int warmup, int count, double pace, long minIntervalNanos, boolean spin,
            long warmupNanos) throws Exception {
        Histogram unused = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long warmUntil = System.nanoTime() + warmupNanos;
        do { // in rounds of at least one round trip, until both the count and the time are reached
            pingPhase(destination, size, Math.max(1, warmup), 0, PingSchedule.backToBack(unused));
        } while (System.nanoTime() - warmUntil < 0);
        Histogram backToBack = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        pingPhase(destination, size, 0, count, PingSchedule.backToBack(backToBack));
        Histogram paced = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long interval = PingSchedule.intervalAt(pace, backToBack, minIntervalNanos);
        PingSchedule schedule = PingSchedule.paced(interval, paced, !spin);
        pingPhase(destination, size, 0, count, schedule);
        return percentiles(backToBack) + " " + paced.getValueAtPercentile(50) + " " + paced.getValueAtPercentile(99) + " "
                + paced.getValueAtPercentile(99.9) + " " + interval + " " + schedule.late() + " " + schedule.maxLateness()
                + " " + backToBack.getMean() / interval;
    }

    private void pingPhase(String destination, int size, int warmup, int count, PingSchedule schedule) throws Exception {
        Endpoint endpoint = endpoints.get(0);
        if (endpoint.pushes()) {
            try (PingDriver driver = new PingDriver(endpoint, destination, size, warmup, count, schedule)) {
                driver.run();
            }
            return;
        }
        long[] replies = new long[1];
        Endpoint.Sink sink = payload -> replies[0]++;
        try (FrameSender sender = new FrameSender(endpoint, destination, size)) {
            for (int i = 0; i < warmup + count; i++) {
                long sentAt = schedule.nextSend();
                sender.send(i);
                long want = replies[0] + 1;
                while (replies[0] < want) {
                    if (endpoint.poll(sink, 1, TimeUnit.SECONDS.toNanos(10)) == 0) {
                        throw new IllegalStateException("no reply to ping " + i + " within 10 s");
                    }
                }
                if (i >= warmup) {
                    schedule.recordReply(sentAt);
                }
            }
        }
    }

    private static String percentiles(Histogram histogram) {
        return " " + histogram.getValueAtPercentile(50) + " " + histogram.getValueAtPercentile(90) + " "
                + histogram.getValueAtPercentile(99) + " " + histogram.getValueAtPercentile(99.9) + " " + histogram.getMaxValue();
    }

    private void closeEndpoints() throws Exception {
        stopConsumer();
        for (Endpoint e : endpoints) {
            e.close();
        }
        endpoints.clear();
    }

    private void sampleMemory() {
        List<MemoryPoolMXBean> heapPools = new ArrayList<>();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                heapPools.add(pool);
            }
        }
        List<BufferPoolMXBean> buffers = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class);
        while (true) {
            long heap = 0;
            for (MemoryPoolMXBean pool : heapPools) {
                heap += pool.getUsage().getUsed();
            }
            long direct = io.netty.util.internal.PlatformDependent.usedDirectMemory();
            for (BufferPoolMXBean pool : buffers) {
                if (pool.getName().equals("direct")) {
                    direct = Math.max(direct, 0) + pool.getMemoryUsed();
                }
            }
            peakHeap = Math.max(peakHeap, heap);
            peakDirect = Math.max(peakDirect, direct);
            try {
                Thread.sleep(10); // a sampling period, not synchronisation
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
