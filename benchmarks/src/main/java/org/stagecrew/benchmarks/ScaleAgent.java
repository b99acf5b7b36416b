package org.stagecrew.benchmarks;

import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;

/**
 * A JVM of the scale rows ({@link ScaleRunner}): a receiver, one of the sender JVMs of a fan-in, or
 * the JVM of the ring. Takes text commands on its own transport and answers each with one frame, as
 * {@link Agent} does. Transports are ours with every default, so they share the JVM's event loops.
 *
 * <pre>
 * LISTEN                          open the receiver, count frames  -> OK address
 * COUNT expected timeoutMs        frames and checksum since the last COUNT -> OK count checksum
 * OPEN n dest                     open n sending transports, each connected to dest by an empty frame -> OK
 * SEND dest size startMs warmMs runMs  one thread per transport, from the wall-clock instant startMs
 *                                 -> OK measuredFrames totalFrames checksum
 * THREADS                         live threads, event loop threads -> OK threads loopThreads
 * CLOSE                           close the sending transports     -> OK
 * RING n tokens size warmMs runMs see {@link Ring}                -> OK forwarded nanos verified threads loopThreads heap direct
 * EXIT                            end the task                     -> OK
 * </pre>
 */
public final class ScaleAgent implements Task {
    private static final Duration IDLE = Duration.ofMillis(200);

    private final List<Endpoint> senders = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new FastThreadLocalThread(r, "scale-sender");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong checksum = new AtomicLong();
    private long countedBefore;
    private long sumBefore;
    private Endpoint receiver;
    private volatile boolean consuming;
    private Thread consumer;

    /** For the child JVM. */
    public ScaleAgent() {
    }

    @Override
    public void run(TaskContext context) throws Exception {
        Transport control = context.transport();
        Path directory = Path.of(context.arguments().get(0));
        while (!context.isStopRequested()) {
            String command;
            Address from;
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
        closeSenders();
        stopReceiver();
        threads.shutdownNow();
    }

    private String execute(String[] c, Path directory) throws Exception {
        switch (c[0]) {
            case "LISTEN":
                receiver = StagecrewEndpoint.open(directory, IoMode.AUTO);
                consuming = true;
                consumer = new FastThreadLocalThread(this::consume, "scale-consumer");
                consumer.setDaemon(true);
                consumer.start();
                return " " + receiver.address();
            case "COUNT":
                return count(Long.parseLong(c[1]), Long.parseLong(c[2]));
            case "OPEN":
                // One at a time, each connected before the next: 256 connects at once into one receiver on a loaded
                // machine outlasted the 5 s connect timeout, and the frames queued on them were reported undeliverable.
                for (int i = 0; i < Integer.parseInt(c[1]); i++) {
                    Endpoint sender = StagecrewEndpoint.open(directory, IoMode.AUTO);
                    senders.add(sender);
                    sender.sendCopy(c[2], Unpooled.EMPTY_BUFFER);
                    sender.flush();
                }
                return "";
            case "SEND":
                return send(c[1], Integer.parseInt(c[2]), Long.parseLong(c[3]), Long.parseLong(c[4]), Long.parseLong(c[5]));
            case "THREADS":
                return " " + ManagementFactory.getThreadMXBean().getThreadCount() + " " + Ring.eventLoopThreads();
            case "CLOSE":
                closeSenders();
                return "";
            case "RING":
                return Ring.run(directory, Integer.parseInt(c[1]), Integer.parseInt(c[2]), Integer.parseInt(c[3]),
                        Long.parseLong(c[4]), Long.parseLong(c[5]));
            case "EXIT":
                return "";
            default:
                throw new IllegalArgumentException("unknown command " + c[0]);
        }
    }

    /** The consumer thread: counts frames and sums their sequence numbers, published once per poll. */
    private void consume() {
        long[] tally = new long[2];
        Endpoint.Sink sink = payload -> {
            if (payload.readableBytes() >= Long.BYTES) {
                tally[1] += payload.getLong(payload.readerIndex());
            }
            tally[0]++;
        };
        try {
            while (consuming) {
                receiver.poll(sink, 4096, TimeUnit.MILLISECONDS.toNanos(50));
                checksum.set(tally[1]);
                received.set(tally[0]);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until {@code expected} frames arrived since the last count (or the timeout); polls a counter between measurements. */
    private String count(long expected, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (received.get() - countedBefore < expected && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        long count = received.get();
        long sum = checksum.get();
        String result = " " + (count - countedBefore) + " " + (sum - sumBefore);
        countedBefore = count;
        sumBefore = sum;
        return result;
    }

    /**
     * Every sending transport sends from its own thread, all starting at the wall-clock instant {@code
     * startMillis} (shared by the sender JVMs), so that the measured windows of all JVMs coincide.
     */
    private String send(String destination, int size, long startMillis, long warmMillis, long runMillis) throws Exception {
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(startMillis - System.currentTimeMillis());
        long measuredFrom = start + TimeUnit.MILLISECONDS.toNanos(warmMillis);
        long measuredTo = measuredFrom + TimeUnit.MILLISECONDS.toNanos(runMillis);
        List<Future<long[]>> results = new ArrayList<>();
        for (Endpoint endpoint : senders) {
            results.add(threads.submit(() -> {
                try (FrameSender sender = new FrameSender(endpoint, destination, size)) {
                    for (long now = System.nanoTime(); now < start; now = System.nanoTime()) {
                        LockSupport.parkNanos(start - now); // the agreed start, not a hand-off
                    }
                    sender.sendUntil(measuredFrom);
                    long before = sender.sent();
                    sender.sendUntil(measuredTo);
                    long measured = sender.sent() - before;
                    endpoint.flush();
                    return new long[] {measured, sender.sent(), sender.sum()};
                }
            }));
        }
        long measured = 0;
        long total = 0;
        long sum = 0;
        for (Future<long[]> f : results) {
            long[] r = f.get(120, TimeUnit.SECONDS);
            measured += r[0];
            total += r[1];
            sum += r[2];
        }
        return " " + measured + " " + total + " " + sum;
    }

    private void closeSenders() {
        for (Endpoint e : senders) {
            e.close();
        }
        senders.clear();
    }

    private void stopReceiver() throws InterruptedException {
        consuming = false;
        if (consumer != null) {
            consumer.join(10_000);
        }
        if (receiver != null) {
            receiver.close();
        }
    }
}
