package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * A sending thread's segments are recycled through its connection's {@link SegmentPool} once both
 * it and the event loop are done with them, so that a steady stream of small copied frames does not
 * allocate a segment per segment's worth of frames; and a closed pool leaks no chunk.
 */
@Timeout(value = 60, unit = SECONDS)
class SegmentRecyclingTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static Segment retiredSegment(int capacity) {
        Segment segment = new Segment(PooledByteBufAllocator.DEFAULT.directBuffer(capacity, capacity));
        segment.claim();
        segment.chunk.setInt(0, 0);
        segment.publish(4);
        segment.retireByProducer();
        segment.consumed = 4;
        segment.consumedFrames = 1;
        segment.retired = true;
        return segment;
    }

    @Test
    void aRecycledSegmentIsTakenBackEmptyAndOpenWithItsChunk() {
        SegmentPool pool = new SegmentPool(4 * 1024 * 1024, 256 * 1024);
        Segment segment = retiredSegment(8192);
        ByteBuf chunk = segment.chunk;
        assertTrue(pool.recycle(segment));
        assertSame(segment, pool.take(8192, 4), "the idle segment of the asked capacity");
        assertSame(chunk, segment.chunk, "its chunk is kept");
        assertEquals(1, chunk.refCnt(), "one reference: the taker's");
        assertEquals(0, segment.state(), "empty, open, and neither sealed nor retired");
        assertEquals(0, segment.consumed);
        assertFalse(segment.retired);
        assertTrue(segment.fits(8192) && segment.claim(), "the new producer can claim it");
        segment.publish(4);
        segment.chunk.release();
        pool.close();
    }

    @Test
    void anIdleSegmentFarSmallerThanTheThreadNeedsIsReleasedAndTheTakerAllocates() {
        SegmentPool pool = new SegmentPool(4 * 1024 * 1024, 256 * 1024);
        Segment segment = retiredSegment(8192);
        assertTrue(pool.recycle(segment));
        assertNull(pool.take(65536, 4), "far smaller than the segment the thread needs");
        assertEquals(0, segment.chunk.refCnt(), "the idle segment's chunk was released");
        assertEquals(0, pool.idleCount());
    }

    @Test
    void aSegmentWhoseChunkAnotherHolderStillReadsIsReleasedNotPooled() {
        SegmentPool pool = new SegmentPool(4 * 1024 * 1024, 256 * 1024);
        Segment segment = retiredSegment(8192);
        ByteBuf slice = segment.chunk.retainedSlice(0, 4); // as an in-JVM receiver still holding a read
        assertFalse(pool.recycle(segment), "a chunk someone still reads must not be written again");
        assertEquals(1, segment.chunk.refCnt(), "only the reader's reference is left");
        assertEquals(0, pool.idleCount());
        slice.release();
        assertEquals(0, segment.chunk.refCnt());
    }

    @Test
    void aFullPoolReleasesTheExtraSegmentAndAClosedPoolEveryIdleOneAndEveryLaterOne() {
        SegmentPool pool = new SegmentPool(4 * 1024 * 1024, 256 * 1024);
        Segment[] kept = new Segment[SegmentPool.idlePlaces(4 * 1024 * 1024, 256 * 1024)];
        for (int i = 0; i < kept.length; i++) {
            kept[i] = retiredSegment(8192);
            assertTrue(pool.recycle(kept[i]));
        }
        Segment extra = retiredSegment(8192);
        assertFalse(pool.recycle(extra), "the pool holds at most " + kept.length);
        assertEquals(0, extra.chunk.refCnt());
        pool.close();
        for (Segment segment : kept) {
            assertEquals(0, segment.chunk.refCnt(), "closing releases every idle chunk");
        }
        Segment late = retiredSegment(8192);
        assertFalse(pool.recycle(late), "a closed pool takes nothing");
        assertEquals(0, late.chunk.refCnt());
        assertNull(pool.take(8192, 4));
    }

    @Test
    void aSegmentTheEventLoopFinishedUnderItsIdleProducerIsParkedAndTheProducersRetireTakesIt() {
        Segment segment = new Segment(Unpooled.buffer(64, 64));
        assertTrue(segment.trySeal(segment.state()), "the event loop seals the idle segment");
        assertFalse(segment.drainerDone(), "the producer still holds it: the event loop does not own it");
        assertTrue(segment.isParked());
        assertFalse(segment.claim(), "the producer's next claim finds it sealed");
        assertTrue(segment.retireByProducer(), "the producer, done second, owns it");
        assertFalse(segment.isParked());
        assertFalse(segment.reclaimParked(), "no longer parked: the event loop cannot take it back");
        assertEquals(0, Segment.position(segment.state()), "the position is unchanged");
        segment.chunk.release();
    }

    @Test
    void aParkedSegmentTakenBackByTheEventLoopIsNotTheProducersToRecycle() {
        Segment segment = new Segment(Unpooled.buffer(64, 64));
        segment.trySeal(segment.state());
        segment.drainerDone();
        assertTrue(segment.reclaimParked(), "parked: the event loop takes it back");
        assertFalse(segment.retireByProducer(), "the producer's later retire must leave it alone");
        segment.chunk.release();
    }

    @Test
    void aFullParkingReleasesTheOldestAndAClosedPoolEveryParkedOne() {
        SegmentPool pool = new SegmentPool(4 * 1024 * 1024, 256 * 1024);
        Segment[] segments = new Segment[SegmentPool.MAX_PARKED + 1];
        for (int i = 0; i < segments.length; i++) {
            segments[i] = new Segment(Unpooled.buffer(64, 64));
            segments[i].trySeal(segments[i].state());
            assertFalse(segments[i].drainerDone());
            pool.park(segments[i]);
        }
        assertEquals(0, segments[0].chunk.refCnt(), "beyond " + SegmentPool.MAX_PARKED + " parked, the oldest is released");
        assertFalse(segments[0].retireByProducer(), "and its producer does not own it");
        assertTrue(segments[1].retireByProducer(), "a producer retiring its parked segment owns it");
        assertTrue(pool.recycle(segments[1]));
        pool.close();
        for (int i = 1; i < segments.length; i++) {
            assertEquals(0, segments[i].chunk.refCnt(), "closing releases every parked and idle chunk: " + i);
            assertFalse(segments[i].retireByProducer(), "taken back by the close: " + i);
        }
    }

    static Stream<IoMode> socketModes() {
        return Stream.of(IoMode.EPOLL, IoMode.NIO);
    }

    /**
     * One thread streams frames that fill many segments, while another consumes them: the thread's
     * segments come back through the pool, so it sees far fewer distinct segment objects than it
     * starts segments. Without recycling every segment it starts is a new one.
     */
    @ParameterizedTest
    @MethodSource("socketModes")
    void aThreadStreamingSmallFramesReusesItsSegmentsInsteadOfAllocatingNewOnes(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available: " + mode.unavailabilityCause());
        int length = 1024;
        int count = 20_000; // 20 MiB: a few hundred segments at most 256 KiB each
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(length, length).writeZero(length);
        TransportConfig.Builder config = TransportConfig.builder().socketDirectory(dir).ioMode(mode);
        try (Transport receiver = Transport.open(config.fileNamePrefix("r-").build());
                NettyTransport sender = (NettyTransport) Transport.open(config.fileNamePrefix("s-").build())) {
            Address to = receiver.address();
            AtomicLong received = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread consumer = new Thread(() -> {
                try {
                    while (received.get() < count) {
                        try (Frame frame = receiver.receive(WAIT)) {
                            assertNotNull(frame, "frame " + received.get() + " did not arrive within " + WAIT);
                            assertEquals(received.get(), frame.payload().getLong(0), "out of order");
                            received.incrementAndGet();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, "segment-recycling-consumer");
            consumer.start();
            Set<Segment> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
            int started = 0;
            Segment current = null;
            for (long seq = 0; seq < count && failure.get() == null; seq++) {
                source.setLong(0, seq);
                sender.send(to, source, 0, length, WAIT);
                Segment segment = Appenders.existing(sender.connectionTo(to)).segment;
                if (segment != current) {
                    started++;
                    distinct.add(segment);
                    current = segment;
                }
            }
            consumer.join(WAIT.toMillis());
            assertNull(failure.get(), () -> "the consumer failed: " + failure.get());
            assertEquals(count, received.get(), "every frame arrived");
            System.out.printf("SegmentRecyclingTest %s: %d frames of %d bytes went in %d segments, %d distinct objects%n",
                    mode, count, length, started, distinct.size());
            assertTrue(started >= 40, "the stream filled only " + started + " segments: too few to show recycling");
            assertTrue(distinct.size() * 2 <= started, started + " segments started, " + distinct.size()
                    + " of them new objects: the segments were not recycled through the connection's pool");
        } finally {
            source.release();
        }
    }
}
