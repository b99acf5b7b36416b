package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.Channel;
import io.netty.util.IllegalReferenceCountException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Delivery;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.LeakDetection;

/** Defects of the send path found in review, each pinned by the test that showed it. */
@Timeout(value = 60, unit = SECONDS)
class SendPathDefectsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Above every append limit: the copying send makes a pooled copy and queues it. */
    private static final int QUEUED = 40 * 1024;
    private static final int SMALL = 64;

    @TempDir
    Path dir;

    @Test
    void aCopyingSendOrOfferFromAReleasedSourceThrowsAndLeaksNoCopy() {
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            LeakDetection.drainLeaks(); // only what this test leaks counts
            for (int i = 0; i < 4; i++) {
                ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(QUEUED).writeZero(QUEUED);
                source.release();
                assertThrows(IllegalReferenceCountException.class,
                        () -> sender.send(receiver.address(), source, 0, QUEUED, WAIT));
                assertThrows(IllegalReferenceCountException.class,
                        () -> sender.offer(receiver.address(), source, 0, QUEUED));
            }
            List<LeakDetection.Leak> leaks = LeakDetection.drainLeaks();
            assertEquals(List.of(), leaks, "the copy made for a send whose source could not be read was not released");
        }
    }

    @Test
    void closingWhileASenderThreadIsInsideAWriteNeitherHoldsUpTheEventLoopNorLeaksItsSegment() {
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(SMALL).writeZero(SMALL);
        Segment claimed = null;
        long closeNanos;
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            Address to = receiver.address();
            NettyTransport sender = (NettyTransport) Transport.open(TransportConfig.builder().socketDirectory(dir).build());
            try {
                for (int attempt = 0; attempt < 1_000 && claimed == null; attempt++) {
                    sender.send(to, source, 0, SMALL, WAIT);
                    Appenders.Appender appender = Appenders.existing(sender.connectionTo(to));
                    Segment segment = appender == null ? null : appender.segment;
                    if (segment != null && segment.claim()) {
                        claimed = segment; // this thread is now "inside its next write", as if descheduled there
                    }
                }
                assertNotNull(claimed, "never caught the thread's segment unsealed");
            } finally {
                long start = System.nanoTime();
                sender.close();
                closeNanos = System.nanoTime() - start;
            }
            Segment stuck = claimed;
            System.out.printf("SendPathDefectsTest: close with a producer inside a write took %.1f ms%n", closeNanos / 1e6);
            assertTrue(closeNanos < Duration.ofSeconds(2).toNanos(), "close took " + closeNanos / 1_000_000
                    + " ms: the event loop waited for a thread inside a write instead of closing");

            stuck.abort(); // the thread leaves its write
            Await.until("the segment is released once its producer left the write", WAIT, () -> stuck.chunk.refCnt() == 0);
        } finally {
            if (claimed != null && claimed.chunk.refCnt() > 0 && (claimed.state() & Segment.WRITING) != 0) {
                claimed.abort();
            }
            source.release();
        }
    }

    /**
     * A thread inside a write when its connection fails finishes the write afterwards: its send
     * returns normally and the frame is failed later, when its segment can be sealed. {@code flush}
     * used to return at once for a failed connection, before that report, so a sender that flushed
     * and then counted its failures missed frames (sent = delivered + discarded + failed broke by
     * the frames still inside writes; CloseDuringTrafficTest saw it in LOCAL mode).
     */
    @Test
    void flushWaitsForTheReportOfAFrameWhoseWriteEndedAfterItsConnectionFailed() {
        LongAdder failed = new LongAdder();
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(SMALL).writeZero(SMALL);
        Segment claimed = null;
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir)
                        .undeliverableHandler((to, frames, cause) -> failed.add(frames)).build())) {
            Address to = receiver.address();
            NettyTransport netty = (NettyTransport) sender;
            long sent = 0;
            for (int attempt = 0; attempt < 1_000 && claimed == null; attempt++) {
                sender.send(to, source, 0, SMALL, WAIT);
                sent++;
                Appenders.Appender appender = Appenders.existing(netty.connectionTo(to));
                Segment segment = appender == null ? null : appender.segment;
                if (segment != null && segment.fits(Protocol.LENGTH_FIELD_LENGTH + SMALL) && segment.claim()) {
                    claimed = segment; // this thread is now "inside its next write", as if descheduled there
                }
            }
            assertNotNull(claimed, "never caught the thread's segment unsealed");

            receiver.close(); // the sender's connection fails with SHUTTING_DOWN while the write is under way
            Await.until("the sender's connection failed", WAIT, () -> netty.connectionTo(to) == null);
            int at = claimed.position(); // the write ends: one more frame, whose send returns normally
            claimed.chunk.setInt(at, SMALL);
            claimed.chunk.setZero(at + Protocol.LENGTH_FIELD_LENGTH, SMALL);
            claimed.publish(at + Protocol.LENGTH_FIELD_LENGTH + SMALL);
            sent++;

            assertTrue(sender.flush(WAIT), "flush settled every frame within " + WAIT);
            long discarded = receiver.stats().discardedFramesTotal();
            assertEquals(sent, discarded + failed.sum(), "after flush, every frame sent was counted by the receiver ("
                    + discarded + " discarded) or reported failed (" + failed.sum() + ")");
        } finally {
            if (claimed != null && claimed.chunk.refCnt() > 0 && (claimed.state() & Segment.WRITING) != 0) {
                claimed.abort();
            }
            source.release();
        }
    }

    @Test
    void sealingASegmentWhoseProducerStaysInsideAWriteGivesUpInsteadOfSpinning() {
        ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer(64, 64);
        Segment segment = new Segment(chunk);
        try {
            assertTrue(segment.claim(), "claim a fresh segment");
            // The producer holds its claim (descheduled, stopped in a debugger, or dead): the event loop must not wait for it.
            long state = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> segment.sealNow(),
                    "sealNow() spins while the producer is inside a write");
            assertEquals(Segment.BUSY, state, "a segment whose producer is writing cannot be sealed yet");
            assertEquals(0, segment.state() & Segment.SEALED, "sealed under a producer that is still writing");

            segment.abort();
            long sealed = segment.sealNow();
            assertNotEquals(Segment.BUSY, sealed, "once the producer left its write, the segment seals");
            assertTrue((segment.state() & Segment.SEALED) != 0);
        } finally {
            chunk.release();
        }
    }

    @Test
    void aDrainThatCannotAllocateFailsTheFramesInHandAndTheConnectionGoesOn() throws Exception {
        List<TransportException> undeliverable = new CopyOnWriteArrayList<>();
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir)
                        .undeliverableHandler((to, frames, cause) -> undeliverable.add(cause)).build())) {
            Address to = receiver.address();
            sender.send(to, owned(0)).get(WAIT.toSeconds(), SECONDS);
            assertEquals(0, nextSequence(receiver));
            LeakDetection.drainLeaks(); // only what this test leaks counts
            Channel channel = ((NettyTransport) sender).connectionTo(to).channel();
            ByteBufAllocator allocator = channel.config().getAllocator();
            channel.config().setAllocator(new ExhaustedAllocator());

            CompletableFuture<Void> failing = sender.send(to, owned(1));
            ExecutionException failed = assertThrows(ExecutionException.class, () -> failing.get(WAIT.toSeconds(), SECONDS));
            assertTrue(failed.getCause() instanceof TransportException, "not a TransportException: " + failed.getCause());
            assertTrue(failed.getCause().getMessage().contains(to.toString()), failed.getCause().getMessage());
            assertTrue(failed.getCause().getCause() instanceof OutOfMemoryError, "cause: " + failed.getCause().getCause());
            // Written from its own buffer behind a header the event loop allocates (a small one would be appended by this thread).
            sender.send(to, PooledByteBufAllocator.DEFAULT.directBuffer(QUEUED).writeLong(2).writeZero(QUEUED - Long.BYTES), WAIT);
            Await.until("the blocking send's frame reported undeliverable", WAIT, () -> undeliverable.size() == 1);
            assertTrue(undeliverable.get(0).getCause() instanceof OutOfMemoryError, "cause: " + undeliverable.get(0).getCause());

            channel.config().setAllocator(allocator);
            sender.send(to, owned(3)).get(WAIT.toSeconds(), SECONDS);
            assertEquals(3, nextSequence(receiver), "the connection goes on after the frames it could not pack");
            assertEquals(2, sender.stats().get(TransportCounter.SENDS_FAILED));
            assertEquals(List.of(), LeakDetection.drainLeaks(), "a frame that could not be packed was not released");
        }
    }

    @Test
    void aHandedOverPayloadReleasedByItsOwnerFailsAloneAndTheConnectionGoesOn() throws Exception {
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            Address to = receiver.address();
            sender.send(to, owned(0)).get(WAIT.toSeconds(), SECONDS);
            assertEquals(0, nextSequence(receiver));
            Channel channel = ((NettyTransport) sender).connectionTo(to).channel();
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch holding = new CountDownLatch(1);
            channel.eventLoop().execute(() -> { // the drain runs behind this: the owner releases first
                holding.countDown();
                awaitQuietly(held);
            });
            assertTrue(holding.await(WAIT.toSeconds(), SECONDS));
            ByteBuf heap = Unpooled.buffer(SMALL).writeLong(1).writeZero(SMALL - Long.BYTES);
            ByteBuf direct = owned(2);
            CompletableFuture<Void> heapSend = sender.send(to, heap);
            CompletableFuture<Void> directSend = sender.send(to, direct);
            CompletableFuture<Void> goodSend = sender.send(to, owned(3));
            heap.release(); // the caller's bug: both were handed over
            direct.release();
            held.countDown();

            for (CompletableFuture<Void> released : List.of(heapSend, directSend)) {
                ExecutionException failed = assertThrows(ExecutionException.class, () -> released.get(WAIT.toSeconds(), SECONDS));
                assertTrue(failed.getCause().getMessage().contains("released by its owner"), failed.getCause().getMessage());
            }
            goodSend.get(WAIT.toSeconds(), SECONDS);
            assertEquals(3, nextSequence(receiver), "freed memory was sent, or the connection stopped");
            assertEquals(2, sender.stats().get(TransportCounter.SENDS_FAILED));
        }
    }

    @Test
    void aPayloadWhoseBytesCannotBeReadFailsAloneAndTheConnectionGoesOn() throws Exception {
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            Address to = receiver.address();
            long sequence = 0;
            for (int length : new int[] {SMALL, QUEUED}) {
                for (boolean direct : new boolean[] {false, true}) {
                    String what = (direct ? "direct" : "heap") + " composite of " + length + " bytes";
                    // The caller's bug: a component freed behind the composite's back (its own count is still 1).
                    ByteBuf freed = direct ? PooledByteBufAllocator.DEFAULT.directBuffer(length / 2) : Unpooled.buffer(length / 2);
                    freed.writeZero(length / 2);
                    CompositeByteBuf broken = Unpooled.compositeBuffer().addComponent(true, Unpooled.buffer(length / 2).writeZero(length / 2))
                            .addComponent(true, freed);
                    freed.release();
                    CompletableFuture<Void> brokenSend = sender.send(to, broken);
                    CompletableFuture<Void> goodSend = sender.send(to, owned(++sequence));

                    ExecutionException failed = assertThrows(ExecutionException.class, () -> brokenSend.get(WAIT.toSeconds(), SECONDS), what);
                    assertTrue(failed.getCause() instanceof TransportException, what + ": " + failed.getCause());
                    assertTrue(failed.getCause().getMessage().contains(to.toString()), failed.getCause().getMessage());
                    goodSend.get(WAIT.toSeconds(), SECONDS);
                    assertEquals(sequence, nextSequence(receiver), what + ": the next frame arrives next, intact");
                }
            }
            CompletableFuture<Void> hostileSend = sender.send(to, new UnreadableBuf(SMALL, false));
            CompletableFuture<Void> goodSend = sender.send(to, owned(++sequence));
            ExecutionException failed = assertThrows(ExecutionException.class, () -> hostileSend.get(WAIT.toSeconds(), SECONDS));
            assertTrue(failed.getCause().getMessage().contains(UnreadableBuf.WHY), failed.getCause().getMessage());
            goodSend.get(WAIT.toSeconds(), SECONDS);
            assertEquals(sequence, nextSequence(receiver), "a copied payload whose reads throw fails alone");
            assertEquals(5, sender.stats().get(TransportCounter.SENDS_FAILED));
            assertEquals(0, sender.stats().get(TransportCounter.CONNECTIONS_LOST), "one connection throughout");
        }
    }

    @Test
    void aZeroCopyPayloadTheChannelCannotWriteEndsTheConnectionInsteadOfMisframingTheStream() throws Exception {
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            Address to = receiver.address();
            sender.send(to, owned(0)).get(WAIT.toSeconds(), SECONDS);
            assertEquals(0, nextSequence(receiver));
            // Its header goes out, then the channel fails the payload's write and stays open.
            CompletableFuture<Void> hostileSend = sender.send(to, new UnreadableBuf(QUEUED, true));
            CompletableFuture<Void> nextSend = sender.send(to, owned(1));

            ExecutionException failed = assertThrows(ExecutionException.class, () -> hostileSend.get(WAIT.toSeconds(), SECONDS));
            assertTrue(failed.getCause() instanceof TransportException, "typed: " + failed.getCause());
            Throwable next = nextSend.handle((ok, e) -> e).get(WAIT.toSeconds(), SECONDS);
            long expected = 1;
            if (next != null) { // the frame behind it was failed with the connection: typed, never misframed
                assertTrue(next instanceof TransportException, "typed: " + next);
                expected = 2;
                sender.send(to, owned(2)).get(WAIT.toSeconds(), SECONDS);
            }
            assertEquals(expected, nextSequence(receiver), "the next frame arrives whole, not read as the failed payload's bytes");
            assertEquals(1, sender.stats().get(TransportCounter.CONNECTIONS_LOST), "the stream was ended, then a new one made");
        }
    }

    /** A caller's own buffer class whose bytes cannot be read: it has no array to copy from, and its reads throw. */
    private static final class UnreadableBuf extends UnpooledHeapByteBuf {
        static final String WHY = "this buffer cannot be read";

        private final boolean direct;

        /** {@code direct}: it claims to be direct, so a channel writes it as it is, and fails when it reads it. */
        UnreadableBuf(int length, boolean direct) {
            super(UnpooledByteBufAllocator.DEFAULT, length, length);
            this.direct = direct;
            writerIndex(length);
        }

        @Override
        public boolean isDirect() {
            return direct;
        }

        @Override
        public boolean hasArray() {
            return false;
        }

        @Override
        public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
            throw new IllegalStateException(WHY);
        }

        @Override
        public ByteBuf getBytes(int index, java.nio.ByteBuffer dst) {
            throw new IllegalStateException(WHY);
        }

        @Override
        public int nioBufferCount() {
            throw new IllegalStateException(WHY);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(WAIT.toSeconds(), SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aCopyingSendWithNoMemoryForTheCopyThrowsATransportExceptionAndQueuesNothing() throws Exception {
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir)
                        .maxFrameLength(TransportConfig.MAX_FRAME_LENGTH_LIMIT).build());
                Transport ackedSender = Transport.open(TransportConfig.builder().socketDirectory(dir)
                        .maxFrameLength(TransportConfig.MAX_FRAME_LENGTH_LIMIT).delivery(Delivery.acknowledged(WAIT)).build())) {
            Address to = receiver.address();
            // 1.5 GiB to copy, more than the test JVM's direct memory (-Xmx1g), viewed over one real MiB.
            ByteBuf mebibyte = PooledByteBufAllocator.DEFAULT.directBuffer(1 << 20).writeZero(1 << 20);
            CompositeByteBuf huge = Unpooled.compositeBuffer(1536);
            for (int i = 0; i < 1536; i++) {
                huge.addComponent(true, mebibyte.retainedDuplicate());
            }
            try {
                int length = huge.readableBytes();
                for (TransportException e : List.of(
                        assertThrows(TransportException.class, () -> sender.send(to, huge, 0, length, WAIT)),
                        assertThrows(TransportException.class, () -> sender.offer(to, huge, 0, length)),
                        assertThrows(TransportException.class, () -> ackedSender.send(to, huge, 0, length, WAIT)))) {
                    assertTrue(e.getMessage().contains(to.toString()) && e.getMessage().contains("nothing was queued"), e.getMessage());
                    assertTrue(e.getCause() instanceof OutOfMemoryError, "cause: " + e.getCause());
                }
                assertEquals(length, huge.readableBytes(), "the caller's buffer is left as it was");
            } finally {
                huge.release();
                mebibyte.release();
            }
            sender.send(to, owned(7)).get(WAIT.toSeconds(), SECONDS);
            assertEquals(7, nextSequence(receiver), "a frame that was never queued does not arrive");
            assertEquals(2, sender.stats().get(TransportCounter.SENDS_FAILED));
            CompletableFuture<Void> acknowledged = ackedSender.send(to, owned(8));
            assertEquals(8, nextSequence(receiver));
            acknowledged.get(WAIT.toSeconds(), SECONDS); // acknowledged once consumed
        }
    }

    private static ByteBuf owned(long sequence) {
        return PooledByteBufAllocator.DEFAULT.directBuffer(SMALL).writeLong(sequence).writeZero(SMALL - Long.BYTES);
    }

    private static long nextSequence(Transport receiver) {
        try (Frame frame = receiver.receive(WAIT)) {
            assertNotNull(frame, "no frame within " + WAIT);
            return frame.payload().getLong(frame.payload().readerIndex());
        }
    }
}
