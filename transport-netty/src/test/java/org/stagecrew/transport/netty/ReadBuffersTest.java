package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;

/**
 * The decoder on a channel whose reads go through {@link ReadBuffers}, driven as epoll's read loop
 * drives it: allocate a buffer, read into it, hand it on (or release it when the read got nothing).
 */
class ReadBuffersTest {
    private static final Address RECEIVER = Address.of("/tmp/receiver.sock");
    private static final Address SENDER = Address.of("/tmp/sender.sock");
    private static final PeerCredentials CREDENTIALS = new PeerCredentials(4711, 1000, 1000);
    private static final int MAX_FRAME = 1024 * 1024;

    /** The read buffers' allocator: one arena, no thread cache, so its counts are every buffer's. */
    @SuppressWarnings("deprecation")
    private final PooledByteBufAllocator alloc = new PooledByteBufAllocator(true, 0, 1, 8192, 9, 0, 0, false);
    private final Admission admission = new Admission(IoBackend.LOCAL, PeerPolicy.anyone(), 10);
    private final Inbox inbox = new Inbox(RECEIVER, 1_000_000, Long.MAX_VALUE);
    private final AtomicLong keptBytes = new AtomicLong();
    private final ReadBuffers reads = new ReadBuffers(keptBytes, ReadBuffers.KEPT_BYTES_PER_TRANSPORT);
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final RecvByteBufAllocator.Handle handle;
    /** The batches taken from the inbox so far. */
    private int batches;

    ReadBuffersTest() {
        channel.config().setRecvByteBufAllocator(reads);
        channel.pipeline().addLast(new FrameBatchDecoder(RECEIVER, SENDER, CREDENTIALS, inbox, null, MAX_FRAME, admission));
        handle = reads.newHandle();
        handle.reset(channel.config());
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
        inbox.close();
        assertEquals(0, activeBuffers(), "read buffers still allocated after the connection ended and its frames went");
        assertEquals(0, keptBytes.get(), "kept bytes still counted after the connection ended");
    }

    @Test
    void theConnectionsOfATransportKeepNoMoreBytesTogetherThanItsLimit() {
        long limit = 5 * 65536 + 1000;
        ReadBuffers first = new ReadBuffers(keptBytes, limit);
        ReadBuffers second = new ReadBuffers(keptBytes, limit);
        List<ByteBuf> reading = new ArrayList<>(); // reads still held: no kept buffer is free for reuse
        for (ReadBuffers connection : List.of(first, second)) {
            RecvByteBufAllocator.Handle reader = connection.newHandle();
            reader.reset(channel.config());
            for (int i = 0; i < ReadBuffers.KEPT; i++) {
                reading.add(reader.allocate(alloc)); // the initial guess, 64 KiB: above the thread cache's limit
            }
        }
        assertEquals(5 * 65536, keptBytes.get(), "the first connection kept 4 buffers, the second one more, then none");
        reading.forEach(ByteBuf::release);
        assertEquals(5, activeBuffers(), "the kept buffers, and nothing else, stay allocated");

        first.release();
        second.release();
        assertEquals(0, activeBuffers());
        assertEquals(0, keptBytes.get());
    }

    @Test
    void readRoundsThatFindNothingLeaveTheBufferSizeAlone() {
        List<byte[]> sent = payloads(new Random(14), 40, 4096, 4096);
        byte[] stream = encode(sent);
        List<byte[]> received = new ArrayList<>();
        int at = 0;
        for (int i = 0; i < 10; i++) {
            at += read(stream, at, stream.length - at);
            received.addAll(drain());
        }
        int guess = handle.guess();
        for (int i = 0; i < 100; i++) { // a busy-polling loop reading its busy connection before anything came
            handle.reset(channel.config());
            readNothing();
            handle.readComplete();
        }
        assertEquals(guess, handle.guess(), "empty read rounds shrank the next read's buffer");
        while (at < stream.length) {
            at += read(stream, at, stream.length - at);
            received.addAll(drain());
        }
        assertFrames(sent, received);
    }

    @Test
    void largeReadsReuseTheirBuffersOnceTheirFramesAreReleased() {
        List<byte[]> sent = payloads(new Random(11), 400, 64 * 1024, 64 * 1024);
        byte[] stream = encode(sent);
        List<byte[]> received = new ArrayList<>();
        int at = 0;
        for (int i = 0; i < 20; i++) {
            at += read(stream, at, stream.length - at);
            received.addAll(drain());
        }
        long allocations = allocations();
        while (at < stream.length) {
            at += read(stream, at, stream.length - at);
            received.addAll(drain());
        }
        assertEquals(allocations, allocations(), "reads after the first 20 went into kept buffers, not new ones");
        assertFrames(sent, received);
    }

    @Test
    void aKeptBufferIsNotReadIntoWhileFramesSlicedFromItAreHeld() {
        List<byte[]> sent = payloads(new Random(12), 300, 30_000, 70_000);
        byte[] stream = encode(sent);
        List<byte[]> received = new ArrayList<>();
        Random random = new Random(13);
        for (int at = 0; at < stream.length; ) {
            at += read(stream, at, stream.length - at);
            if (random.nextInt(4) == 0) { // frames pile up in the inbox between these
                received.addAll(drain());
            }
        }
        received.addAll(drain());
        assertFrames(sent, received);
    }

    @Test
    void smallReadsLetTheKeptBuffersGo() {
        byte[] large = encode(payloads(new Random(14), 50, 64 * 1024, 64 * 1024));
        for (int at = 0; at < large.length; ) {
            at += read(large, at, large.length - at);
            drain();
        }
        assertTrue(activeBuffers() > 0, "large read buffers are kept while reads are large");
        byte[] small = encode(payloads(new Random(15), 1, 50, 50));
        for (int i = 0; i < 1000 && handle.guess() > ReadBuffers.CACHED_MAX; i++) {
            read(small, 0, small.length);
        }
        read(small, 0, small.length);
        drain();
        assertEquals(0, activeBuffers(), "no read buffer kept once reads are small enough for the thread cache");
    }

    @Test
    void aFrameCutByAReadArrivesWholeInTheNextReadsBatchWithoutABatchOfItsOwn() {
        List<byte[]> sent = payloads(new Random(1), 6, 1000, 1000);
        byte[] stream = encode(sent);
        int cut = 2 * 1004 + 500;

        assertEquals(cut, read(stream, 0, cut));
        assertEquals(500, reads.holding(), "the cut frame's first bytes wait for the next read");
        read(stream, cut, stream.length - cut);

        List<byte[]> received = drain();
        assertFrames(sent, received);
        assertEquals(2, batches, "one batch per read: the cut frame goes out with the frames after it");
        assertEquals(0, reads.holding());
    }

    @Test
    void aLargeCutFrameArrivesWholeInOneReadBuffer() {
        List<byte[]> sent = payloads(new Random(2), 5, 64 * 1024, 64 * 1024);
        byte[] stream = encode(sent);
        for (int at = 0; at < stream.length; ) {
            at += read(stream, at, Math.min(100_000, stream.length - at));
        }
        assertFrames(sent, drain());
        assertTrue(batches <= 5, "no frame was put together from pieces: " + batches + " batches");
    }

    @Test
    void afterALargeFrameWasCutReadsHoldWholeFramesOfItsLength() {
        List<byte[]> sent = payloads(new Random(7), 40, 40_000, 40_000);
        byte[] stream = encode(sent);
        int at = read(stream, 0, 50_000);
        assertTrue(reads.holding() > 0, "the first read cut the second frame");
        int cuts = 0;
        while (at < stream.length) {
            at += read(stream, at, stream.length - at); // the socket always has more than the buffer holds
            cuts += reads.holding() > 0 ? 1 : 0;
        }
        assertEquals(0, cuts, "reads sized in multiples of the frame length cut no frame");
        assertFrames(sent, drain());
    }

    @Test
    void readsThatComeBackFullGrowToTheLargestSizeThoughEachCarriesACutFrame() {
        List<byte[]> sent = payloads(new Random(8), 3000, 1000, 1000);
        byte[] stream = encode(sent);
        int largest = 0;
        for (int at = read(stream, 0, 1500); at < stream.length; ) { // a short read first: it cuts a frame
            at += read(stream, at, stream.length - at);
            largest = Math.max(largest, handle.guess());
        }
        assertEquals(ReadBuffers.CARRY_LIMIT, largest, "the largest read buffer guessed");
        assertFrames(sent, drain());
    }

    @Test
    void aReadThatGetsNothingKeepsTheCarriedBytesForTheNextOne() {
        List<byte[]> sent = payloads(new Random(3), 4, 300, 3000);
        byte[] stream = encode(sent);
        int first = stream.length / 3;
        read(stream, 0, first);
        int held = reads.holding();
        assertTrue(held > 0, "the first read cut a frame");

        readNothing();
        assertEquals(held, reads.holding(), "an empty read must not lose the carried bytes");
        readNothing();
        read(stream, first, stream.length - first);

        assertFrames(sent, drain());
    }

    @Test
    void aCancelledReadLeavesTheCarriedBytesToTheNextBuffer() {
        List<byte[]> sent = payloads(new Random(10), 4, 300, 3000);
        byte[] stream = encode(sent);
        int first = stream.length / 3;
        read(stream, 0, first);
        int held = reads.holding();
        assertTrue(held > 0, "the first read cut a frame");

        handle.allocate(alloc).release(); // a cancelled read: its buffer goes without a word to the handle
        assertEquals(held, reads.holding(), "a cancelled read must not lose the carried bytes");
        read(stream, first, stream.length - first);

        assertFrames(sent, drain());
    }

    @Test
    void aFrameIsCarriedOnceSoADribblingPeerCostsOneCopyPerByte() {
        List<byte[]> sent = payloads(new Random(4), 1, 200 * 1024, 200 * 1024);
        byte[] stream = encode(sent);
        read(stream, 0, 100);
        assertEquals(100, reads.holding(), "carried into the next read once");
        int at = 100;
        at += read(stream, at, 100);
        assertEquals(0, reads.holding(), "a frame still cut after it was carried is put together from the reads, not carried again");
        while (at < stream.length) {
            at += read(stream, at, Math.min(100, stream.length - at));
        }
        assertFrames(sent, drain());
    }

    @Test
    void framesOfEverySizeCutAtRandomArriveIntactAndInOrderThroughEmptyReads() {
        Random random = new Random(5);
        List<byte[]> sent = new ArrayList<>();
        sent.addAll(payloads(random, 200, 0, 300));
        sent.addAll(payloads(random, 40, 20_000, 300_000)); // some above the carry limit: assembled
        sent.addAll(payloads(random, 200, 0, 3000));
        java.util.Collections.shuffle(sent, random);
        byte[] stream = encode(sent);
        for (int at = 0; at < stream.length; ) {
            if (random.nextInt(8) == 0) {
                readNothing();
            }
            int wanted = random.nextInt(4) == 0 ? 1 + random.nextInt(16) : 1 + random.nextInt(400_000);
            at += read(stream, at, Math.min(wanted, stream.length - at));
        }
        assertFrames(sent, drain());
        assertEquals(0, reads.holding());
    }

    @Test
    void aConnectionThatEndsWhileBytesAreCarriedDropsThemAndReleasesThem() {
        byte[] stream = encode(payloads(new Random(6), 2, 5000, 5000));
        read(stream, 0, 7000);
        assertTrue(reads.holding() > 0);

        channel.close();

        assertEquals(0, reads.holding(), "released as the connection ended");
        assertEquals(1, drain().size(), "the whole frame before the cut one arrived");
    }

    @Test
    void aReadHandedOnOutOfOrderFailsTheConnectionInsteadOfDeliveringItsBytesOutOfOrder() {
        byte[] stream = encode(payloads(new Random(9), 3, 3000, 3000));
        read(stream, 0, 4000);
        ByteBuf carrying = handle.allocate(alloc); // a copy of the carried bytes in front
        ByteBuf other = alloc.ioBuffer(64).writeBytes(stream, 4000, 64);

        channel.writeInbound(other);

        assertTrue(!channel.isActive(), "the connection is closed");
        carrying.release();
        assertEquals(1, drain().size(), "only the frame before the cut one");
    }

    private long activeBuffers() {
        return alloc.metric().directArenas().stream().mapToLong(io.netty.buffer.PoolArenaMetric::numActiveAllocations).sum();
    }

    private long allocations() {
        return alloc.metric().directArenas().stream().mapToLong(io.netty.buffer.PoolArenaMetric::numAllocations).sum();
    }

    /** A read loop of one read of up to {@code length} bytes of {@code stream} from {@code offset}, as epoll's does it; returns the bytes read. */
    private int read(byte[] stream, int offset, int length) {
        handle.reset(channel.config());
        ByteBuf buffer = handle.allocate(alloc);
        handle.attemptedBytesRead(buffer.writableBytes());
        int n = Math.min(length, buffer.writableBytes());
        buffer.writeBytes(stream, offset, n);
        handle.lastBytesRead(n);
        handle.incMessagesRead(1);
        channel.writeInbound(buffer);
        handle.readComplete();
        return n;
    }

    /** A read that finds the socket empty: the loop releases the buffer without handing it on. */
    private void readNothing() {
        ByteBuf buffer = handle.allocate(alloc);
        handle.attemptedBytesRead(buffer.writableBytes());
        handle.lastBytesRead(0);
        buffer.release();
    }

    private List<byte[]> drain() {
        List<byte[]> frames = new ArrayList<>();
        InboundBatch batch;
        while ((batch = inbox.poll()) != null) {
            batches++;
            frames.addAll(FrameBatchDecoderTest.payloadsOf(batch));
            inbox.consumed(batch);
        }
        return frames;
    }

    private static List<byte[]> payloads(Random random, int count, int minLength, int maxLength) {
        List<byte[]> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] b = new byte[minLength + random.nextInt(maxLength - minLength + 1)];
            random.nextBytes(b);
            list.add(b);
        }
        return list;
    }

    private static byte[] encode(List<byte[]> payloads) {
        ByteBuf buf = io.netty.buffer.Unpooled.buffer();
        for (byte[] p : payloads) {
            buf.writeInt(p.length).writeBytes(p);
        }
        return ByteBufUtil.getBytes(buf);
    }

    private static void assertFrames(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size(), "frames");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "frame " + i);
        }
    }
}
