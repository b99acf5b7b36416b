package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PoolChunkListMetric;
import io.netty.buffer.PoolChunkMetric;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;

/**
 * A peer that passed the hello dribbles a large frame in tiny pieces, each in its own read buffer
 * as the event loop would read it: the decoder must hold memory proportional to the bytes received,
 * not a read buffer per piece. Memory is read from the pooled allocator's own arena metrics, with an
 * allocator that has no thread caches, so that every byte counted is held by a live buffer.
 */
class DribbledFrameTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");
    /** The read buffer the adaptive receive allocator settles on for tiny reads (its minimum). */
    private static final int READ_BUFFER = 4096;
    private static final int MAX_FRAME = 64 * 1024 * 1024;
    /**
     * The constant of the socket test's bound: the receive buffer of the read in progress, and what the
     * event loop's thread cache keeps of freed read buffers (counted as used by the arenas).
     */
    private static final int SOCKET_SLACK = 4 * 1024 * 1024;
    /** The constant of the bound: the smallest tail, and page runs the allocator keeps per size class. */
    private static final int SLACK = 64 * 1024;

    private final PooledByteBufAllocator alloc = new PooledByteBufAllocator(true, 1, 1, 4096, 9, 0, 0, false);
    private final Inbox inbox = new Inbox(RECEIVER, 1_000_000, Long.MAX_VALUE);
    private final EmbeddedChannel channel = new EmbeddedChannel();

    DribbledFrameTest() {
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new FrameBatchDecoder(RECEIVER, SENDER, new PeerCredentials(1, 2, 3), inbox, null, MAX_FRAME,
                new Admission(IoBackend.LOCAL, PeerPolicy.anyone(), 10)));
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        inbox.close();
    }

    /**
     * Bytes of {@link #alloc}'s pages in use, from the allocator's own metrics: the used part of
     * each chunk, plus the huge allocations that live outside chunks ({@code numActiveBytes} counts
     * those exactly, and every chunk in full).
     */
    private long liveDirectBytes() {
        return usedDirectBytes(alloc);
    }

    /** One read: {@code length} bytes of {@code stream} in a fresh read buffer of {@code capacity}. */
    private ByteBuf read(byte[] stream, int offset, int length, int capacity) {
        return alloc.directBuffer(capacity).writeBytes(stream, offset, length);
    }

    private static byte[] frameStream(int payloadLength) {
        byte[] stream = new byte[4 + payloadLength];
        new Random(payloadLength).nextBytes(stream);
        stream[0] = (byte) (payloadLength >>> 24);
        stream[1] = (byte) (payloadLength >>> 16);
        stream[2] = (byte) (payloadLength >>> 8);
        stream[3] = (byte) payloadLength;
        return stream;
    }

    @Test
    void aLargeFrameDribbledOneBytePerReadHoldsMemoryProportionalToTheBytesReceived() {
        byte[] stream = frameStream(MAX_FRAME);
        int dribbled = 20_000;
        // The allocator keeps one page run per size class once used; warm up the read buffer's and the header's.
        alloc.directBuffer(READ_BUFFER).release();
        alloc.directBuffer(4).release();
        long before = liveDirectBytes();
        for (int i = 0; i < dribbled; i++) {
            channel.writeInbound(read(stream, i, 1, READ_BUFFER));
        }
        long held = liveDirectBytes() - before;

        System.out.printf("[DribbledFrameTest] %,d bytes dribbled one per read hold %,d bytes of pooled direct memory%n",
                dribbled, held);
        long bound = 2L * dribbled + SLACK;
        assertTrue(held <= bound, "a frame dribbled in " + dribbled + " one-byte reads holds " + held
                + " bytes of pooled direct memory, above the bound of " + bound + " (twice the bytes received plus a constant)");
        assertNull(inbox.poll(), "the frame is not complete");
    }

    @Test
    void aDribbledLargeFrameArrivesIntactAndIsAccountedByWhatItHolds() {
        int payload = FrameBatchDecoder.ASSEMBLE_THRESHOLD * 3 + 17;
        byte[] stream = frameStream(payload);
        int offset = 0;
        Random random = new Random(7);
        while (offset < stream.length) {
            int piece = Math.min(stream.length - offset, 1 + random.nextInt(700));
            // Alternate small pieces in big buffers (copied) with pieces that fill their buffer (sliced).
            int capacity = random.nextBoolean() ? READ_BUFFER : piece;
            channel.writeInbound(read(stream, offset, piece, capacity));
            offset += piece;
        }

        InboundBatch batch = inbox.poll();
        ByteBuf frame = batch.buffer; // the batch object is reused once consumed; its buffer is not
        try {
            assertEquals(1, batch.frames);
            assertEquals(payload, batch.buffer.getInt(batch.buffer.readerIndex()));
            byte[] got = new byte[stream.length];
            batch.buffer.getBytes(batch.buffer.readerIndex(), got);
            assertEquals(java.util.Arrays.hashCode(stream), java.util.Arrays.hashCode(got), "the frame arrives intact");
            assertTrue(batch.bytes <= 2L * stream.length + SLACK,
                    "the inbox counts what the frame holds: " + batch.bytes);
        } finally {
            inbox.consumed(batch);
        }
        assertEquals(0, frame.refCnt(), "every part is released once the frame was consumed");
    }

    @Test
    void aLargeFrameInLargeReadsIsSlicedWithoutACopy() {
        int payload = 4 * 65536;
        byte[] stream = frameStream(payload);
        for (int offset = 0; offset < stream.length; offset += 65536) {
            int piece = Math.min(65536, stream.length - offset);
            channel.writeInbound(read(stream, offset, piece, 65536));
        }
        InboundBatch batch = inbox.poll();
        try {
            assertEquals(1, batch.frames);
            assertTrue(batch.buffer.nioBufferCount() > 1, "pieces that fill their read buffers are kept as slices, not copied");
        } finally {
            inbox.consumed(batch);
        }
    }

    /** Pooled direct memory in use in {@code alloc}, from its own metrics (see {@link #liveDirectBytes()}). */
    static long usedDirectBytes(PooledByteBufAllocator alloc) {
        long bytes = 0;
        for (PoolArenaMetric arena : alloc.metric().directArenas()) {
            long chunks = 0;
            for (PoolChunkListMetric list : arena.chunkLists()) {
                for (PoolChunkMetric chunk : list) {
                    bytes += chunk.chunkSize() - chunk.freeBytes();
                    chunks += chunk.chunkSize();
                }
            }
            bytes += arena.numActiveBytes() - chunks;
        }
        return bytes;
    }

    /**
     * The attack over a real socket: a raw client passes the hello (same uid) and writes a large
     * frame one byte per write, paced so that the receiver reads about one byte per read. Once the
     * frame is complete and waits in the inbox, the transport's pooled allocator must hold about the
     * frame's size, not a read buffer per byte.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"NIO", "EPOLL", "IO_URING", "KQUEUE"})
    void aLargeFrameDribbledOverASocketHoldsAboutItsSizeInTheReceiver(IoMode mode, @TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        int payload = FrameBatchDecoder.ASSEMBLE_THRESHOLD + 1000;
        byte[] stream = frameStream(payload);
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).ioMode(mode).build());
                SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            client.connect(UnixDomainSocketAddress.of(receiver.address().toPath()));
            ByteBuf hello = Protocol.encodeHello(PooledByteBufAllocator.DEFAULT, Address.of(dir.resolve("dribbler.sock")));
            try {
                client.write(hello.nioBuffer());
            } finally {
                hello.release();
            }
            ByteBuffer answer = ByteBuffer.allocate(Protocol.NOTICE_HEADER_LENGTH);
            while (answer.hasRemaining() && client.read(answer) >= 0) {
                // the accept notice's header; its detail stays unread
            }
            assertEquals(Protocol.ACCEPTED, answer.get(Protocol.NOTICE_CODE_OFFSET), "the hello was accepted");

            long before = usedDirectBytes(PooledByteBufAllocator.DEFAULT);
            ByteBuffer one = ByteBuffer.allocateDirect(1);
            for (byte b : stream) {
                one.clear();
                one.put(b).flip();
                client.write(one);
                LockSupport.parkNanos(20_000); // the attacker's pace (not a synchronisation): about one byte per read
            }
            Await.until("the dribbled frame is in the inbox", Duration.ofSeconds(30),
                    () -> ((NettyTransport) receiver).inboxFrames() == 1);
            long held = usedDirectBytes(PooledByteBufAllocator.DEFAULT) - before;

            // Approximate within what the event loop's thread cache holds (freed read buffers count as used): hence SOCKET_SLACK.
            System.out.printf("[DribbledFrameTest] %s: a frame of %,d bytes dribbled one byte per write holds %,d bytes of pooled"
                    + " direct memory in the receiver (within the event loop's thread cache)%n", mode, stream.length, held);
            long bound = 2L * stream.length + SOCKET_SLACK;
            assertTrue(held <= bound, mode + ": a frame of " + stream.length + " bytes dribbled one byte per write holds " + held
                    + " bytes of pooled direct memory, above " + bound);
            try (Frame frame = receiver.receive(Duration.ofSeconds(10))) {
                assertEquals(payload, frame.payload().readableBytes());
            }
        }
    }
}
