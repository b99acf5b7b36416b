package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
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
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.TransportConfig;

/**
 * The event loop → consumer hand-off, on one thread: {@link Inbox#add} of a batch (a retained
 * slice of a pre-made pooled chunk, as {@link FrameBatchDecoder} makes one per read) and
 * {@link FrameConsumer#poll} walking its frames with the reused {@link FrameView}, handing each to a
 * {@link FrameHandler} that reads the payload's sequence number. The handler sees exactly what a
 * user's handler sees.
 *
 * <p>{@code framesPerBatch} is how many frames one read carried: 4096 is a busy stream, 1 is a
 * quiet one (one frame per read, as in request/response), where per-batch costs become per-frame
 * costs. Every invocation hands over {@value #FRAMES} frames of {@value #PAYLOAD} bytes, so the
 * scores are per frame. The body runs on the JMH thread, as a user's consumer thread would
 * ({@code -p thread=netty}: on a Netty {@code FastThreadLocalThread}; see {@link BenchThread}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
public class InboxBenchmark {
    static final int FRAMES = 4096;
    static final int PAYLOAD = 64;

    @Param({"4096", "64", "1"})
    int framesPerBatch;

    /** The thread the body runs on; see {@link BenchThread}. */
    @Param({"plain"})
    String thread;

    private BenchThread runner;
    private LongSupplier body;

    private int batches;
    private int batchBytes;
    private ByteBuf source;
    private Address sender;
    private PeerCredentials credentials;
    private Inbox inbox;
    private EmbeddedChannel channel;
    private NettyTransport transport;
    private FrameConsumer consumer;
    private SumHandler handler;
    private long expected;

    @Setup(Level.Trial)
    public void setUp() {
        if (FRAMES % framesPerBatch != 0) {
            throw new IllegalArgumentException("framesPerBatch must divide " + FRAMES);
        }
        batches = FRAMES / framesPerBatch;
        batchBytes = framesPerBatch * (Protocol.LENGTH_FIELD_LENGTH + PAYLOAD);
        source = PooledByteBufAllocator.DEFAULT.directBuffer(FRAMES * (Protocol.LENGTH_FIELD_LENGTH + PAYLOAD));
        for (int i = 0; i < FRAMES; i++) {
            source.writeInt(PAYLOAD);
            source.writeLong(i);
            source.writeZero(PAYLOAD - Long.BYTES);
        }
        expected = (long) FRAMES * (FRAMES - 1) / 2;
        sender = Address.of("/tmp/stagecrew-jmh-sender.sock");
        credentials = PeerCredentials.ofThisProcess();
        // FrameConsumer asks its transport only whether it is open; a LOCAL one binds no file.
        transport = NettyTransport.open(TransportConfig.builder().ioMode(IoMode.LOCAL).fileName("jmh-inbox-" + System.nanoTime()).build());
        inbox = new Inbox(transport.address(), TransportConfig.DEFAULT_INBOX_CAPACITY_FRAMES, TransportConfig.defaultInboxCapacityBytes());
        consumer = new FrameConsumer(transport, inbox);
        channel = new EmbeddedChannel();
        handler = new SumHandler();
        runner = new BenchThread(thread);
        body = this::addAndPollBody;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runner.close();
        inbox.close();
        transport.close();
        channel.finishAndReleaseAll();
        source.release();
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long addAndPoll() {
        return runner.call(body);
    }

    private long addAndPollBody() {
        handler.sum = 0;
        int handled = 0;
        for (int b = 0, offset = 0; b < batches; b++, offset += batchBytes) {
            inbox.add(channel, new InboundBatch(sender, credentials, source.retainedSlice(offset, batchBytes), framesPerBatch, batchBytes));
            handled += consumer.poll(handler, 4096, null);
        }
        if (handled != FRAMES || handler.sum != expected) {
            throw new IllegalStateException("handled " + handled + " frames with sum " + handler.sum + ", expected "
                    + FRAMES + " and " + expected);
        }
        return handler.sum;
    }

    /** A user's handler: reads the payload's sequence number. */
    static final class SumHandler implements FrameHandler {
        long sum;

        @Override
        public void onFrame(org.stagecrew.transport.Frame frame) {
            ByteBuf payload = frame.payload();
            sum += payload.getLong(payload.readerIndex());
        }
    }
}
