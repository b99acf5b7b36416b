package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/**
 * Closing a transport from inside the handler that {@code poll} is calling, as an actor that stops
 * itself on a message does: the batch at hand is released exactly once, no frame is handed out
 * after the close, the frames not handed out are counted as discarded, and nothing leaks. Runs in
 * every I/O mode available here.
 */
@Timeout(value = 60, unit = SECONDS)
class CloseInHandlerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int FRAMES = 50;

    @TempDir
    Path dir;

    private Transport open(IoMode mode) {
        return open(TransportConfig.builder().socketDirectory(dir).ioMode(mode));
    }

    private static Transport open(TransportConfig.Builder config) {
        return Transport.open(config.build());
    }

    private static void assumeAvailable(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
    }

    /** Sends {@link #FRAMES} frames in one burst and waits until all of them are in the receiver's inbox. */
    private static void sendBurst(Transport sender, Transport receiver) {
        for (int i = 0; i < FRAMES; i++) {
            ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(i);
            sender.send(receiver.address(), payload, WAIT);
        }
        sender.flush(WAIT);
        Await.until("all " + FRAMES + " frames are in the inbox of " + receiver.address(), WAIT,
                () -> ((NettyTransport) receiver).inboxFrames() == FRAMES);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    @SuppressWarnings("try") // the receiver closes itself inside the try block; close() is idempotent
    void closeInsideAPollHandlerReleasesTheBatchOnceAndCountsTheRestAsDiscarded(IoMode mode) throws Exception {
        assumeAvailable(mode);
        try (Transport receiver = open(mode); Transport sender = open(mode)) {
            sendBurst(sender, receiver);
            AtomicInteger handled = new AtomicInteger();

            int returned = receiver.poll(frame -> {
                handled.incrementAndGet();
                receiver.close();
            }, FRAMES);

            assertEquals(1, handled.get(), "no frame is handed to the handler after it closed the transport");
            assertEquals(1, returned);
            assertFalse(receiver.isOpen());
            assertEquals(Map.of(sender.address(), (long) FRAMES - 1), receiver.stats().discardedFrames(),
                    "the frames never handed out are counted as discarded, per sender");
            assertThrows(TransportClosedException.class, () -> receiver.poll(frame -> { }, 1));
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    @SuppressWarnings("try")
    void closeInsideAPollHandlerOnTheLastFrameOfABatchDoesNotReleaseItTwice(IoMode mode) throws Exception {
        assumeAvailable(mode);
        try (Transport receiver = open(mode); Transport sender = open(mode)) {
            sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(42), WAIT);
            sender.flush(WAIT);
            Await.until("the frame is in the inbox", WAIT, () -> ((NettyTransport) receiver).inboxFrames() == 1);

            int returned = receiver.poll(frame -> receiver.close(), 10); // once threw IllegalReferenceCountException

            assertEquals(1, returned);
            assertEquals(Map.of(), receiver.stats().discardedFrames(), "the one frame was handled, nothing discarded");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    @SuppressWarnings("try")
    void closeInsideATimedPollHandlerOnAnotherThreadReleasesTheBatchOnce(IoMode mode) throws Exception {
        assumeAvailable(mode);
        try (Transport receiver = open(mode); Transport sender = open(mode)) {
            sendBurst(sender, receiver);
            AtomicReference<Frame> kept = new AtomicReference<>();
            CompletableFuture<Integer> polled = CompletableFuture.supplyAsync(() -> receiver.poll(frame -> {
                if (kept.get() == null) {
                    kept.set(frame.retain()); // a frame kept past the close stays valid until it is closed
                    receiver.close();
                }
            }, FRAMES, WAIT));

            assertEquals(1, polled.get(WAIT.toSeconds(), SECONDS));
            try (Frame frame = kept.get()) {
                assertEquals(0, frame.payload().getLong(frame.payload().readerIndex()), "a retained frame survives the close");
            }
            assertEquals(Map.of(sender.address(), (long) FRAMES - 1), receiver.stats().discardedFrames());
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"LOCAL", "NIO", "EPOLL", "IO_URING", "KQUEUE"})
    @SuppressWarnings("try")
    void closeInsideAnEventLoopHandlerStopsTheHandlerAndCountsTheRest(IoMode mode) throws Exception {
        assumeAvailable(mode);
        AtomicReference<Transport> self = new AtomicReference<>();
        AtomicInteger handled = new AtomicInteger();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        try (Transport receiver = open(TransportConfig.builder().socketDirectory(dir).ioMode(mode).eventLoopHandler(frame -> {
                    handled.incrementAndGet();
                    self.get().close();
                    closed.complete(null);
                }));
                Transport sender = open(mode)) {
            self.set(receiver);
            for (int i = 0; i < FRAMES; i++) {
                sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(i), WAIT);
            }
            closed.get(WAIT.toSeconds(), SECONDS);
            Await.until("the receiver's inbound connection is closed", WAIT, () -> ((NettyTransport) receiver).inboundConnections() == 0);
            assertEquals(1, handled.get(), "no frame is handed to the handler after it closed the transport");
        }
    }
}
