package org.stagecrew.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.IoMode;

/**
 * The socket baseline endpoints deliver every frame intact and in order, and close cleanly; every
 * endpoint's copying send leaves the buffer with the caller; the busy-polling endpoint pushes.
 */
@Timeout(30)
class EndpointsTest {
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long POLL_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    @TempDir
    Path dir;

    static Stream<Named<Function<Path, Endpoint>>> endpoints() {
        return Stream.of(Named.of("JDK baseline (UDS)", JdkBaselineEndpoint::open),
                Named.of("Netty pipeline over TCP", TcpNettyEndpoint::open));
    }

    /** With the busy-polling baseline, which reads only while polled: a send fills at most the socket buffer. */
    static Stream<Named<Function<Path, Endpoint>>> socketBaselines() {
        return Stream.concat(endpoints(), Stream.of(Named.of("JDK busy-poll baseline (UDS)", JdkBusyPollEndpoint::open)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("endpoints")
    void tenThousandSmallFramesArriveCompleteAndInOrder(Function<Path, Endpoint> factory) throws Exception {
        int frames = 10_000;
        try (Endpoint sender = factory.apply(dir); Endpoint receiver = factory.apply(dir)) {
            for (int i = 0; i < frames; i++) {
                sender.send(receiver.address(), numbered(i));
            }
            sender.flush();

            int[] next = {0};
            receiveAll(receiver, frames, payload -> {
                int expected = next[0]++;
                // One access per buffer: at PARANOID every access records a stack trace.
                if (!Arrays.equals(numberedBytes(expected), ByteBufUtil.getBytes(payload))) {
                    fail("received frame " + expected + " (counting from 0) is not frame " + expected + " intact: "
                            + ByteBufUtil.hexDump(payload));
                }
            });
            assertEquals(frames, next[0]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("endpoints")
    void anEmptyFrameAndAOneMebibyteFrameArriveIntact(Function<Path, Endpoint> factory) throws Exception {
        byte[] large = new byte[1024 * 1024];
        new Random(42).nextBytes(large);
        try (Endpoint sender = factory.apply(dir); Endpoint receiver = factory.apply(dir)) {
            sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(0));
            sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(large.length).writeBytes(large));
            sender.send(receiver.address(), numbered(7));
            sender.flush();

            List<byte[]> received = new ArrayList<>();
            receiveAll(receiver, 3, payload -> received.add(ByteBufUtil.getBytes(payload)));

            assertEquals(0, received.get(0).length, "the empty frame");
            assertArrayEquals(large, received.get(1), "the 1 MiB frame");
            assertEquals(64, received.get(2).length, "the frame behind them");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("socketBaselines")
    void closeReleasesQueuedFramesStopsItsThreadsAndDeletesItsSocketFile(Function<Path, Endpoint> factory) throws Exception {
        Endpoint sender = factory.apply(dir);
        Endpoint receiver = factory.apply(dir);
        for (int i = 0; i < 100; i++) {
            sender.send(receiver.address(), numbered(i));
        }
        sender.flush();
        receiveAll(receiver, 1, payload -> { }); // the rest stays queued in the receiver for close() to release

        sender.close();
        receiver.close();
        receiver.close(); // idempotent

        ByteBuf late = numbered(0);
        assertThrows(IOException.class, () -> sender.send(receiver.address(), late));
        assertEquals(0, late.refCnt(), "a failed send releases its payload");
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.toList(), "socket files left behind");
        }
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.getName().startsWith("baseline-") || thread.getName().startsWith("benchmark-tcp-")) {
                thread.join(TimeUnit.NANOSECONDS.toMillis(WAIT_NANOS));
                assertFalse(thread.isAlive(), thread.getName() + " still runs after close");
            }
        }
    }

    static Stream<Named<Function<Path, Endpoint>>> everyKindOfEndpoint() {
        return Stream.concat(endpoints(), Stream.of(Named.of("stagecrew (NIO)", d -> StagecrewEndpoint.open(d, IoMode.NIO))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyKindOfEndpoint")
    void copiedSendsOfOneReusedBufferArriveAsTheBufferWasAtEachCall(Function<Path, Endpoint> factory) throws Exception {
        int frames = 1000;
        ByteBuf reused = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        try (Endpoint sender = factory.apply(dir); Endpoint receiver = factory.apply(dir)) {
            for (int i = 0; i < frames; i++) {
                reused.clear().writeBytes(numberedBytes(i));
                sender.sendCopy(receiver.address(), reused);
                assertEquals(1, reused.refCnt(), "sendCopy must leave the buffer with the caller");
                assertEquals(64, reused.readableBytes(), "sendCopy must not move the buffer's indices");
            }
            sender.flush();

            int[] next = {0};
            receiveAll(receiver, frames, payload -> {
                int expected = next[0]++;
                if (!Arrays.equals(numberedBytes(expected), ByteBufUtil.getBytes(payload))) {
                    fail("received frame " + expected + " is not the buffer as it was at send " + expected + ": "
                            + ByteBufUtil.hexDump(payload));
                }
            });
        } finally {
            reused.release();
        }
    }

    @Test
    void theBusyPollBaselineDeliversManyFramesAndAOneMebibyteFrameWhileASenderThreadSpins() throws Exception {
        int frames = 10_000;
        byte[] large = new byte[1024 * 1024];
        new Random(7).nextBytes(large);
        try (Endpoint sender = JdkBusyPollEndpoint.open(dir); Endpoint receiver = JdkBusyPollEndpoint.open(dir)) {
            Thread sending = new Thread(() -> {
                try {
                    for (int i = 0; i < frames; i++) {
                        sender.send(receiver.address(), numbered(i));
                    }
                    sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(large.length).writeBytes(large));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "busy-test-sender");
            sending.start();
            int[] next = {0};
            byte[][] last = new byte[1][];
            receiveAll(receiver, frames + 1, payload -> {
                int index = next[0]++;
                if (index == frames) {
                    last[0] = ByteBufUtil.getBytes(payload);
                } else if (!Arrays.equals(numberedBytes(index), ByteBufUtil.getBytes(payload))) {
                    fail("received frame " + index + " is not frame " + index + " intact: " + ByteBufUtil.hexDump(payload));
                }
            });
            sending.join(TimeUnit.NANOSECONDS.toMillis(WAIT_NANOS));
            assertFalse(sending.isAlive(), "the sender thread still runs");
            assertArrayEquals(large, last[0], "the 1 MiB frame after 10,000 small ones");
        }
    }

    @Test
    void aBusyPollingEndpointPushesEveryFrameToItsSinkOnItsOwnIoThread() throws Exception {
        Assumptions.assumeTrue(IoMode.EPOLL.isAvailable(), () -> "epoll is not available: " + IoMode.EPOLL.unavailabilityCause());
        int frames = 1000;
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (Endpoint receiver = StagecrewEndpoint.openBusyPoll(dir, IoMode.EPOLL); Endpoint sender = StagecrewEndpoint.open(dir, IoMode.EPOLL)) {
            assertTrue(receiver.pushes());
            receiver.onFrames(payload -> seen.add(payload.getInt(payload.readerIndex()) + " " + Thread.currentThread().getName()));
            for (int i = 0; i < frames; i++) {
                sender.send(receiver.address(), numbered(i));
            }
            sender.flush();

            for (int i = 0; i < frames; i++) {
                String frame = seen.poll(10, TimeUnit.SECONDS);
                assertNotNull(frame, "frame " + i + " was not pushed within 10 s");
                assertTrue(frame.startsWith(i + " stagecrew-io-"), "frame " + i + " arrived as: " + frame);
            }
        }
    }

    /** A 64-byte frame: the sequence number, then bytes that depend on it and their position. */
    private static ByteBuf numbered(int sequence) {
        return PooledByteBufAllocator.DEFAULT.directBuffer(64).writeBytes(numberedBytes(sequence));
    }

    private static byte[] numberedBytes(int sequence) {
        byte[] bytes = new byte[64];
        ByteBuffer.wrap(bytes).putInt(sequence);
        for (int j = Integer.BYTES; j < bytes.length; j++) {
            bytes[j] = (byte) (sequence + j);
        }
        return bytes;
    }

    /** Polls until {@code count} frames have arrived, failing after 10 s with how many did. */
    private static void receiveAll(Endpoint receiver, int count, Endpoint.Sink sink) throws Exception {
        long deadline = System.nanoTime() + WAIT_NANOS;
        int received = 0;
        while (received < count) {
            if (System.nanoTime() - deadline > 0) {
                fail("received " + received + " of " + count + " frames within 10 s");
            }
            received += receiver.poll(sink, count - received, POLL_SLICE_NANOS);
        }
    }
}
