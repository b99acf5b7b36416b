package org.stagecrew.benchmarks.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.IdleStrategy;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * The public send and receive path, two transports in one JVM, as a user writes it. {@code api}
 * chooses the send: {@code owned}, a fresh buffer from {@link PooledByteBufAllocator#DEFAULT} per
 * frame handed to {@link Transport#send(Address, ByteBuf, Duration)}; or {@code copy}, one reused
 * buffer whose bytes {@link Transport#send(Address, ByteBuf, int, int, Duration)} copies. Each frame
 * carries a sequence number; the receiver drains with {@link Transport#poll(FrameHandler, int)} and
 * checks every one.
 *
 * <ul>
 *   <li>{@code stream}: one frame per op, while a separate consumer thread polls the receiver
 *       ({@code poll(handler, 4096, timeout)}). Steady-state streaming; scores per frame include the
 *       work of every thread (sender, both event loops, consumer), and {@code -prof gc} counts the
 *       allocation of every thread. At the end of each iteration the benchmark flushes and waits
 *       until every frame sent has been received and checked.
 *   <li>{@code sendThenPoll}: one thread sends {@value #BATCH} frames, then polls until it has all of
 *       them back. Deterministic; includes the event loops' wake-ups once per batch.
 * </ul>
 *
 * <p>One sending thread: the sequence numbers are not shared safely, so do not run with {@code -t}.
 *
 * <p>{@code mode}: EPOLL (falls back to NIO where epoll is unavailable), NIO or LOCAL (in-JVM
 * channels: no sockets, so not representative of socket throughput, but the same pipeline and
 * allocation).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
public class SendReceiveBenchmark {
    static final int BATCH = 256;
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(10);
    private static final long DRAIN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** Between iterations, outside the measurement: spin briefly, then yield so that the consumer gets the CPU. */
    private static final IdleStrategy DRAIN_IDLE = IdleStrategy.spinThenYield(100);

    /** Two transports and a checking handler; shared by both benchmarks. */
    @State(Scope.Benchmark)
    public abstract static class Pair {
        @Param({"EPOLL", "LOCAL"})
        public String mode;

        @Param({"64", "1024", "65536"})
        public int payloadSize;

        @Param({"copy", "owned"})
        public String api;

        Path directory;
        Transport sender;
        Transport receiver;
        Address destination;
        final PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        long sent;
        final Checker checker = new Checker();
        /** The reused frame of the {@code copy} api. */
        ByteBuf template;

        void open() throws IOException {
            if (payloadSize < Long.BYTES) {
                throw new IllegalArgumentException("payloadSize must be at least 8 (a sequence number), was " + payloadSize);
            }
            IoMode ioMode = IoMode.valueOf(mode);
            if (ioMode == IoMode.EPOLL && !ioMode.isAvailable()) {
                System.err.println("EPOLL unavailable here (" + ioMode.unavailabilityCause() + "); using NIO");
                ioMode = IoMode.NIO;
            }
            directory = Files.createTempDirectory("stagecrew-jmh-");
            TransportConfig.Builder config = TransportConfig.builder().socketDirectory(directory).ioMode(ioMode);
            receiver = Transport.open(config.fileNamePrefix("r-").build());
            sender = Transport.open(config.fileNamePrefix("s-").build());
            destination = receiver.address();
            if (api.equals("copy")) {
                template = alloc.directBuffer(payloadSize, payloadSize).writeZero(payloadSize);
            } else if (!api.equals("owned")) {
                throw new IllegalArgumentException("api must be copy or owned, was " + api);
            }
        }

        /** Sends one frame as a user would: a copy of the reused buffer, or a fresh buffer the transport releases. */
        void sendOne() {
            if (template != null) {
                template.setLong(0, sent++);
                sender.send(destination, template, 0, payloadSize, SEND_TIMEOUT);
                return;
            }
            ByteBuf payload = alloc.directBuffer(payloadSize, payloadSize);
            payload.writeLong(sent++);
            payload.writerIndex(payloadSize);
            sender.send(destination, payload, SEND_TIMEOUT);
        }

        void close() {
            if (template != null) {
                template.release();
                template = null;
            }
            if (sender != null) {
                sender.close();
            }
            if (receiver != null) {
                receiver.close();
            }
            if (directory != null) {
                try (Stream<Path> files = Files.walk(directory)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    /** Counts frames and checks that sequence numbers arrive in order. */
    static final class Checker implements FrameHandler {
        long received;
        long outOfOrder;

        @Override
        public void onFrame(Frame frame) {
            ByteBuf payload = frame.payload();
            if (payload.getLong(payload.readerIndex()) != received) {
                outOfOrder++;
            }
            received++;
        }

        void verify(long sent) {
            if (received != sent || outOfOrder != 0) {
                throw new IllegalStateException("sent " + sent + " frames, received " + received + ", " + outOfOrder
                        + " out of order");
            }
        }
    }

    @State(Scope.Benchmark)
    public static class Streaming extends Pair {
        /**
         * The consumer thread: {@code plain}, a {@link Thread} as an application's own; {@code netty},
         * a {@link FastThreadLocalThread} as a {@code WorkerPool} worker. Netty's pooled allocator
         * recycles the cache entry of a read buffer that a reader frees only on the latter.
         */
        @Param({"plain"})
        public String consumerThread;
        private Thread consumer;
        private volatile boolean running;
        /** Frames the consumer has handled; written by the consumer after each poll. */
        private volatile long delivered;
        private volatile Throwable consumerFailure;

        @Setup(Level.Trial)
        public void setUp() throws IOException {
            open();
            running = true;
            consumer = "netty".equals(consumerThread) ? new FastThreadLocalThread(this::consume, "jmh-consumer")
                    : new Thread(this::consume, "jmh-consumer");
            consumer.setDaemon(true);
            consumer.start();
        }

        private void consume() {
            try {
                while (running) {
                    int n = receiver.poll(checker, 4096, POLL_TIMEOUT);
                    if (n > 0) {
                        delivered = checker.received;
                    }
                }
            } catch (Throwable t) {
                consumerFailure = t;
            }
        }

        /** Lets the pipeline empty, so that every iteration starts from an empty one and counts only its frames. */
        @TearDown(Level.Iteration)
        public void drain() {
            sender.flush(SEND_TIMEOUT);
            long deadline = System.nanoTime() + DRAIN_TIMEOUT_NANOS;
            for (int attempt = 0; delivered < sent && consumerFailure == null && System.nanoTime() - deadline < 0; attempt++) {
                DRAIN_IDLE.idleUntil(attempt, deadline);
            }
            if (consumerFailure != null) {
                throw new IllegalStateException("consumer failed", consumerFailure);
            }
            if (delivered != sent) {
                throw new IllegalStateException("sent " + sent + " frames, only " + delivered + " arrived within 30 s");
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws InterruptedException {
            running = false;
            consumer.join(TimeUnit.SECONDS.toMillis(5));
            checker.verify(sent);
            close();
        }
    }

    @State(Scope.Thread)
    public static class SameThread extends Pair {
        @Setup(Level.Trial)
        public void setUp() throws IOException {
            open();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            checker.verify(sent);
            close();
        }
    }

    @Benchmark
    public void stream(Streaming s) {
        s.sendOne();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long sendThenPoll(SameThread s) {
        for (int i = 0; i < BATCH; i++) {
            s.sendOne();
        }
        long deadline = System.nanoTime() + DRAIN_TIMEOUT_NANOS;
        while (s.checker.received < s.sent) {
            s.receiver.poll(s.checker, 4096, POLL_TIMEOUT);
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("sent " + s.sent + " frames, only " + s.checker.received + " arrived");
            }
        }
        return s.checker.received;
    }
}
