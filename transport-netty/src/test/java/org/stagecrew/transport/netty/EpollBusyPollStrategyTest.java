package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.test.Await;

/**
 * A busy-polling epoll loop reads the connection that last brought frames without asking epoll
 * ({@link EpollBusyPollStrategy}), and still reads every other connection, and never one that a
 * full inbox paused.
 */
@Timeout(value = 60, unit = SECONDS)
class EpollBusyPollStrategyTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @BeforeEach
    void epollOnly() {
        Assumptions.assumeTrue(IoMode.EPOLL.isAvailable(), () -> "epoll is not available here: " + IoMode.EPOLL.unavailabilityCause());
    }

    private TransportConfig.Builder config() {
        return TransportConfig.builder().socketDirectory(dir).ioMode(IoMode.EPOLL);
    }

    private static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(PooledByteBufAllocator.DEFAULT, text);
    }

    /**
     * The receiver's loop asks epoll until its first frame arrives and never again while that
     * connection is open: each later frame, sent only after the one before it was handled, can
     * only arrive by the direct read.
     */
    @Test
    void theBusyConnectionIsReadWithoutAskingEpoll() throws Exception {
        EventLoopGroup neverAsksAgain = new MultiThreadIoEventLoopGroup(1,
                EpollIoHandler.newFactory(0, () -> new EpollBusyPollStrategy(Integer.MAX_VALUE)));
        BlockingQueue<String> handled = new LinkedBlockingQueue<>();
        try (Transport receiver = Transport.open(config().eventLoopGroup(neverAsksAgain)
                        .eventLoopHandler(frame -> handled.add(frame.payload().toString(UTF_8))).build());
                Transport sender = Transport.open(config().build())) {
            for (int i = 0; i < 500; i++) {
                sender.send(receiver.address(), utf8("frame " + i), WAIT);
                assertEquals("frame " + i, handled.poll(WAIT.toSeconds(), SECONDS), "frame " + i + " was not read within " + WAIT);
            }
        } finally {
            neverAsksAgain.shutdownGracefully(0, 0, SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void everyConnectionOfABusyPollingReceiverIsReadInOrder() throws Exception {
        BlockingQueue<String> handled = new LinkedBlockingQueue<>();
        List<Transport> senders = new ArrayList<>();
        try (Transport receiver = Transport.open(config().busyPoll(true)
                .eventLoopHandler(frame -> handled.add(frame.sender().path() + " " + frame.payload().toString(UTF_8))).build())) {
            for (int s = 0; s < 3; s++) {
                senders.add(Transport.open(config().build()));
            }
            int rounds = 300;
            for (int i = 0; i < rounds; i++) {
                for (Transport sender : senders) { // each frame from another connection than the one read last
                    sender.send(receiver.address(), utf8("frame " + i), WAIT);
                }
            }
            int[] next = new int[senders.size()];
            for (int n = 0; n < rounds * senders.size(); n++) {
                String seen = handled.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(seen, "only " + n + " of " + rounds * senders.size() + " frames were read within " + WAIT);
                int s = indexOf(senders, seen.substring(0, seen.indexOf(' ')));
                assertEquals("frame " + next[s]++, seen.substring(seen.indexOf(' ') + 1), "out of order from sender " + s);
            }
        } finally {
            senders.forEach(Transport::close);
        }
    }

    private static int indexOf(List<Transport> senders, String path) {
        for (int i = 0; i < senders.size(); i++) {
            if (senders.get(i).address().path().equals(path)) {
                return i;
            }
        }
        throw new AssertionError("a frame from an unknown sender " + path);
    }

    /**
     * A full inbox pauses the connection ({@code autoRead} off); the busy loop must not read it
     * directly meanwhile, or the inbox would take everything the sender sends. Watched for a second,
     * then everything is taken in order.
     */
    @Test
    void aConnectionPausedByAFullInboxIsNotReadDirectly() throws Exception {
        int capacity = 16;
        int frames = 2000;
        byte[] filler = new byte[1000];
        try (Transport receiver = Transport.open(config().busyPoll(true).inboxCapacity(capacity, Long.MAX_VALUE).build());
                Transport sender = Transport.open(config().build())) {
            for (int i = 0; i < frames; i++) {
                ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(4 + filler.length);
                sender.send(receiver.address(), payload.writeInt(i).writeBytes(filler), WAIT);
            }
            Await.until("the inbox is full", WAIT, () -> receiver.stats().get(TransportCounter.INBOX_FRAMES) >= capacity);
            // The most one read round can add past capacity: 16 reads of up to 64 KiB, at 1 KiB per frame.
            long bound = capacity + 16L * 64;
            long watchUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() - watchUntil < 0) {
                long held = receiver.stats().get(TransportCounter.INBOX_FRAMES);
                assertTrue(held <= bound, held + " frames in an inbox of capacity " + capacity + ": the paused connection was read on");
                Thread.onSpinWait();
            }
            for (int i = 0; i < frames; i++) {
                try (Frame frame = receiver.receive(WAIT)) {
                    assertNotNull(frame, "frame " + i + " did not arrive within " + WAIT);
                    assertEquals(i, frame.payload().getInt(frame.payload().readerIndex()));
                }
            }
        }
    }
}
