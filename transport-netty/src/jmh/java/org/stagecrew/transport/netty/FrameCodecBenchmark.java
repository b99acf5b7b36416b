package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import java.lang.reflect.Field;
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
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.TransportConfig;

/**
 * Per-frame cost of the codec, both ways, on one thread and without sockets.
 *
 * <ul>
 *   <li>{@code decodeBatched}: the transport's read path. A pre-built pooled chunk of about 256 KiB
 *       of back-to-back frames (as one big read) goes through {@link FrameBatchDecoder} on an
 *       {@link EmbeddedChannel}; the benchmark takes the resulting {@link InboundBatch} out of the
 *       {@link Inbox}, walks its frames and reports it consumed.
 *   <li>{@code decodePerFrame}: baseline, the public {@link FrameCodec#decoder} (one {@code ByteBuf}
 *       per frame up the pipeline) on the same input.
 *   <li>{@code encodeBatched}: the transport's send path: {@link OutboundConnection#enqueue} of pooled
 *       payloads (allocated and filled in the op, as a caller would) and its drain task, which copies
 *       small frames into pooled chunks and writes large ones from the caller's buffer, into an
 *       {@link EmbeddedChannel} that stands in for the socket.
 *   <li>{@code encodePerFrame}: baseline, the public {@link FrameCodec#encoder} (length buffer plus
 *       payload per frame, written one by one, one flush per batch) on the same payloads.
 * </ul>
 *
 * <p>Every invocation handles {@value #FRAMES} frames, so the scores are per frame. The body runs on
 * the JMH thread; {@code -p thread=netty} runs it on a Netty {@code FastThreadLocalThread}, as on an
 * event loop, for the allocation figures (see {@link BenchThread}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dio.netty.leakDetection.level=disabled", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
public class FrameCodecBenchmark {
    /** Frames per invocation (the {@code @OperationsPerInvocation} of every method). */
    static final int FRAMES = 4096;
    /** About how much payload one chunk (one "read") holds. */
    static final int CHUNK_PAYLOAD = 256 * 1024;
    private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    @Param({"64", "1024", "65536"})
    int payloadSize;

    /** The thread the body runs on; see {@link BenchThread}. {@code netty} is what the event loop does. */
    @Param({"plain"})
    String thread;

    private BenchThread runner;
    private LongSupplier decodeBatched;
    private LongSupplier decodePerFrame;
    private LongSupplier encodeBatched;
    private LongSupplier encodeAppended;
    private LongSupplier encodePerFrame;

    /** Frames per chunk: a power of two, so that it divides {@link #FRAMES}. */
    int framesPerChunk;
    int chunks;

    // decode
    private ByteBuf source;
    private Inbox inbox;
    private EmbeddedChannel batchedChannel;
    private EmbeddedChannel perFrameChannel;
    private CountingSink sink;

    // encode
    private NettyTransport transport;
    private EmbeddedChannel outChannel;
    private OutboundConnection connection;
    private EmbeddedChannel perFrameOutChannel;
    private long sequence;
    /** The reused source of {@code encodeAppended}. */
    private ByteBuf template;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        if (payloadSize < Long.BYTES) {
            throw new IllegalArgumentException("payloadSize must be at least 8 (a sequence number), was " + payloadSize);
        }
        framesPerChunk = Math.min(FRAMES, Integer.highestOneBit(Math.max(1, CHUNK_PAYLOAD / payloadSize)));
        chunks = FRAMES / framesPerChunk;

        source = ALLOC.directBuffer(framesPerChunk * (Protocol.LENGTH_FIELD_LENGTH + payloadSize));
        for (int i = 0; i < framesPerChunk; i++) {
            source.writeInt(payloadSize);
            source.writeLong(i);
            source.writeZero(payloadSize - Long.BYTES);
        }

        Address receiver = Address.of("/tmp/stagecrew-jmh-receiver.sock");
        Address sender = Address.of("/tmp/stagecrew-jmh-sender.sock");
        inbox = new Inbox(receiver, Integer.MAX_VALUE, Long.MAX_VALUE);
        batchedChannel = new EmbeddedChannel(new FrameBatchDecoder(receiver, sender, PeerCredentials.ofThisProcess(), inbox, null,
                TransportConfig.DEFAULT_MAX_FRAME_LENGTH, Admission.OPEN));
        batchedChannel.config().setAllocator(ALLOC);

        sink = new CountingSink();
        perFrameChannel = new EmbeddedChannel(FrameCodec.decoder(TransportConfig.DEFAULT_MAX_FRAME_LENGTH), sink);
        perFrameChannel.config().setAllocator(ALLOC);

        // The send path: a real OutboundConnection, its "socket" an EmbeddedChannel. The connection
        // is marked connected and accepted the way onConnected/onAccepted would (they need a peer).
        transport = NettyTransport.open(TransportConfig.builder().ioMode(IoMode.LOCAL).fileName("jmh-codec-" + System.nanoTime()).build());
        outChannel = new EmbeddedChannel();
        outChannel.config().setAllocator(ALLOC);
        outChannel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(
                transport.config().writeBufferLowWaterMark(), transport.config().writeBufferHighWaterMark()));
        connection = new OutboundConnection(transport, Address.of("/tmp/stagecrew-jmh-peer.sock"), outChannel.eventLoop());
        set(connection, "channel", outChannel);
        ((ConnectionState) get(connection, "state")).accept();
        set(connection, "peerMaxFrameLength", (long) TransportConfig.DEFAULT_MAX_FRAME_LENGTH);

        perFrameOutChannel = new EmbeddedChannel(FrameCodec.encoder());
        perFrameOutChannel.config().setAllocator(ALLOC);

        runner = new BenchThread(thread);
        decodeBatched = this::decodeBatchedBody;
        decodePerFrame = this::decodePerFrameBody;
        encodeBatched = this::encodeBatchedBody;
        encodeAppended = this::encodeAppendedBody;
        template = ALLOC.directBuffer(payloadSize, payloadSize).writeZero(payloadSize);
        encodePerFrame = this::encodePerFrameBody;
    }

    private static void set(Object target, String name, Object value) throws ReflectiveOperationException {
        Field field = target.getClass().getDeclaredField(name);
        field.setAccessible(true);
        field.set(target, value);
    }

    private static Object get(Object target, String name) throws ReflectiveOperationException {
        Field field = target.getClass().getDeclaredField(name);
        field.setAccessible(true);
        return field.get(target);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runner.close();
        batchedChannel.finishAndReleaseAll();
        perFrameChannel.finishAndReleaseAll();
        outChannel.finishAndReleaseAll();
        perFrameOutChannel.finishAndReleaseAll();
        inbox.close();
        transport.close();
        source.release();
        template.release();
        if (sink.frames != (long) sink.invocations * FRAMES) {
            throw new IllegalStateException("per-frame decoder delivered " + sink.frames + " frames, expected "
                    + (long) sink.invocations * FRAMES);
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long decodeBatched() {
        return runner.call(decodeBatched);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long decodePerFrame() {
        return runner.call(decodePerFrame);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long encodeBatched() {
        return runner.call(encodeBatched);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long encodeAppended() {
        return runner.call(encodeAppended);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long encodePerFrame() {
        return runner.call(encodePerFrame);
    }

    private long decodeBatchedBody() {
        long sum = 0;
        for (int c = 0; c < chunks; c++) {
            batchedChannel.pipeline().fireChannelRead(source.retainedDuplicate());
            InboundBatch batch = inbox.poll();
            if (batch == null || batch.frames != framesPerChunk) {
                throw new IllegalStateException("expected one batch of " + framesPerChunk + " frames, got "
                        + (batch == null ? "none" : batch.frames));
            }
            ByteBuf buffer = batch.buffer;
            int cursor = batch.cursor;
            for (int i = 0; i < batch.frames; i++) {
                int length = buffer.getInt(cursor);
                sum += buffer.getLong(cursor + Protocol.LENGTH_FIELD_LENGTH);
                cursor += Protocol.LENGTH_FIELD_LENGTH + length;
            }
            inbox.consumed(batch);
        }
        return sum;
    }

    private long decodePerFrameBody() {
        sink.invocations++;
        for (int c = 0; c < chunks; c++) {
            perFrameChannel.pipeline().fireChannelRead(source.retainedDuplicate());
        }
        return sink.sum;
    }

    private long encodeBatchedBody() {
        long bytes = 0;
        for (int c = 0; c < chunks; c++) {
            for (int i = 0; i < framesPerChunk; i++) {
                connection.enqueue(payload(), payloadSize);
            }
            outChannel.runPendingTasks(); // the drain task: copies into chunks, writes, flushes
            bytes += drainOutbound(outChannel);
        }
        return bytes;
    }

    /**
     * The copying send's path: each frame copied from one reused buffer into the calling thread's
     * segment ({@code OutboundConnection.append}); above the append limit (64 KiB here) into a fresh
     * pooled buffer that is queued, as {@code Transport.send(to, buf, index, length, timeout)} does.
     */
    private long encodeAppendedBody() {
        long bytes = 0;
        for (int c = 0; c < chunks; c++) {
            for (int i = 0; i < framesPerChunk; i++) {
                template.setLong(0, sequence++);
                if (payloadSize <= connection.appendLimit()) {
                    if (!connection.append(template, 0, payloadSize)) {
                        throw new IllegalStateException("back-pressured inside one chunk of frames");
                    }
                } else {
                    connection.enqueue(ALLOC.directBuffer(payloadSize, payloadSize).writeBytes(template, 0, payloadSize), payloadSize);
                }
            }
            outChannel.runPendingTasks(); // the drain: writes the segment's published bytes as slices, flushes
            bytes += drainOutbound(outChannel);
        }
        return bytes;
    }

    private long encodePerFrameBody() {
        long bytes = 0;
        for (int c = 0; c < chunks; c++) {
            for (int i = 0; i < framesPerChunk; i++) {
                perFrameOutChannel.write(payload(), perFrameOutChannel.voidPromise());
            }
            perFrameOutChannel.flush();
            bytes += drainOutbound(perFrameOutChannel);
        }
        return bytes;
    }

    /** A payload as a caller makes one: from the pooled allocator, a sequence number, then the rest. */
    private ByteBuf payload() {
        ByteBuf payload = ALLOC.directBuffer(payloadSize, payloadSize);
        payload.writeLong(sequence++);
        payload.writerIndex(payloadSize);
        return payload;
    }

    /** What the socket would take: counts the bytes and releases the buffers. */
    private static long drainOutbound(EmbeddedChannel channel) {
        long bytes = 0;
        Object message;
        while ((message = channel.outboundMessages().poll()) != null) {
            ByteBuf buf = (ByteBuf) message;
            bytes += buf.readableBytes();
            buf.release();
        }
        return bytes;
    }

    /** End of the per-frame pipeline: reads each frame's sequence number and releases it. */
    static final class CountingSink extends ChannelInboundHandlerAdapter {
        long frames;
        long sum;
        int invocations;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            sum += frame.getLong(frame.readerIndex());
            frames++;
            frame.release();
        }
    }
}
