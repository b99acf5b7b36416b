package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.stagecrew.transport.netty.ContractSupport.assertMentions;
import static org.stagecrew.transport.netty.ContractSupport.receive;
import static org.stagecrew.transport.netty.ContractSupport.utf8;

import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.util.concurrent.AbstractScheduledEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/**
 * Issue 16: transports share event loops. By default every transport of a mode runs on one loop of
 * the JVM-wide group of that mode (as many threads as cores); an application can give its own group;
 * {@code ioThreads} above 0 and {@code busyPoll} keep a private group. Closing a transport releases
 * what it had on a shared loop and never stops a loop that others use.
 */
@Timeout(value = 120, unit = SECONDS)
class SharedEventLoopsTest {
    private static final Duration WAIT = ContractSupport.WAIT;
    /** The mode AUTO picks here: epoll on Linux. */
    private static final IoBackend BACKEND = IoBackend.forMode(IoMode.AUTO);
    private static final String SHARED_THREADS = TransportLoops.SHARED_THREAD_PREFIX + BACKEND.mode().name().toLowerCase(Locale.ROOT);

    @TempDir
    Path dir;

    private TransportConfig.Builder config() {
        return TransportConfig.builder().socketDirectory(dir).ioMode(BACKEND.mode());
    }

    @Nested
    class TheSharedGroup {

        @Test
        void threeHundredTransportsRunOnAsManyEventLoopThreadsAsCoresAndClosingThemLeavesTheGroupRunning() {
            int threadsBefore = liveThreads().size();
            try (OpenTransports open = new OpenTransports()) {
                Transport sender = open.add(Transport.open(config().build()));
                List<Transport> transports = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    transports.add(open.add(Transport.open(config().build())));
                }
                for (Transport t : transports) {
                    sender.send(t.address(), utf8("hello"), WAIT);
                }
                for (Transport t : transports) {
                    try (Frame frame = receive(t)) {
                        assertEquals("hello", frame.payload().toString(StandardCharsets.UTF_8));
                    }
                }
                long loopThreads = liveThreads().stream().filter(t -> t.getName().startsWith(SHARED_THREADS)).count();
                int growth = liveThreads().size() - threadsBefore;
                System.out.printf("301 transports: %d threads before, %d after (+%d), %d named %s*, %d cores%n", threadsBefore,
                        threadsBefore + growth, growth, loopThreads, SHARED_THREADS, TransportLoops.sharedThreads());
                assertTrue(loopThreads <= TransportLoops.sharedThreads(), loopThreads + " shared event loop threads for "
                        + TransportLoops.sharedThreads() + " cores");
                assertTrue(growth <= TransportLoops.sharedThreads() + 4, "301 transports added " + growth + " threads to the "
                        + threadsBefore + " there were");
            }
            Await.until("the shared loops still run after every transport closed", WAIT, () -> liveThreads().stream()
                    .filter(t -> t.getName().startsWith(SHARED_THREADS)).count() == TransportLoops.sharedThreads());
            assertFalse(TransportLoops.shared(BACKEND).isShuttingDown(), "closing transports shut the shared group down");
            try (Transport a = Transport.open(config().build()); Transport b = Transport.open(config().build())) {
                a.send(b.address(), utf8("still works"), WAIT);
                receive(b).close();
            }
        }

        @Test
        void closingATransportReleasesItsChannelsAndTimersOnTheSharedLoops() throws Exception {
            EventLoopGroup shared = TransportLoops.shared(BACKEND);
            int channelsBefore = registeredChannels(shared);
            int timersBefore = scheduledTasks(shared);
            Transport a = Transport.open(config().build());
            // A hello timeout longer than the wait below: a timer that close left behind would still be pending at its end.
            Transport b = Transport.open(config().helloTimeout(Duration.ofMinutes(2)).build());
            try (SocketChannel silent = SocketChannel.open(UnixDomainSocketAddress.of(b.address().path()))) {
                // Both directions connected, and one inbound connection still in its hello, with its timeout pending.
                a.send(b.address(), utf8("a to b"), WAIT);
                b.send(a.address(), utf8("b to a"), WAIT);
                receive(b).close();
                receive(a).close();
                Await.until("b has accepted a's connection and the silent one", WAIT,
                        () -> ((NettyTransport) b).inboundConnections() == 2);
                assertTrue(registeredChannels(shared) >= channelsBefore + 6, "2 servers, 2 outbound, 3 inbound on the shared loops");
                assertTrue(scheduledTasks(shared) > timersBefore, "the silent connection's hello timeout is pending");

                a.close();
                b.close();

                assertNull(((NettyTransport) a).connectionTo(b.address()));
                Await.until("b forgot its inbound connections", WAIT, () -> ((NettyTransport) b).inboundConnections() == 0);
                Await.until("no channel of a or b is left on the shared loops (" + channelsBefore + " before)", WAIT,
                        () -> registeredChannels(shared) <= channelsBefore);
                Await.until("no timer of a or b is left on the shared loops (" + timersBefore + " before)", WAIT,
                        () -> scheduledTasks(shared) <= timersBefore);
            }
        }

        @Test
        void aTransportRunsOnOneSharedLoopAndHandsFramesToItsEventLoopHandlerThere() throws Exception {
            BlockingQueue<String> threads = new ArrayBlockingQueue<>(1);
            try (Transport sender = Transport.open(config().build());
                    Transport handled = Transport.open(config().eventLoopHandler(f -> threads.offer(Thread.currentThread().getName())).build())) {
                sender.send(handled.address(), utf8("x"), WAIT);
                String thread = threads.poll(WAIT.toSeconds(), SECONDS);
                assertTrue(thread != null && thread.startsWith(SHARED_THREADS), "handler ran on " + thread);
            }
        }

        @Test
        void aTransportOpenedOnASharedLoopGetsAPrivateLoopInsteadOfWaitingOnItsOwnGroup() throws Exception {
            CompletableFuture<Transport> opened = new CompletableFuture<>();
            TransportConfig onLoopConfig = config().build();
            TransportLoops.shared(BACKEND).next().execute(() -> {
                try {
                    opened.complete(Transport.open(onLoopConfig));
                } catch (RuntimeException e) {
                    opened.completeExceptionally(e);
                }
            });
            try (Transport onLoop = opened.get(WAIT.toSeconds(), SECONDS); Transport sender = Transport.open(config().build())) {
                sender.send(onLoop.address(), utf8("reached"), WAIT);
                receive(onLoop).close();
            }
        }
    }

    @Nested
    class PrivateGroups {

        @Test
        void ioThreadsAboveZeroAndBusyPollKeepAPrivateGroupThatCloseStops() throws Exception {
            for (TransportConfig.Builder builder : List.of(config().ioThreads(2), config().busyPoll(true))) {
                BlockingQueue<Thread> threads = new ArrayBlockingQueue<>(1);
                Transport own = Transport.open(builder.eventLoopHandler(f -> threads.offer(Thread.currentThread())).build());
                try (Transport sender = Transport.open(config().build())) {
                    sender.send(own.address(), utf8("x"), WAIT);
                    Thread loop = threads.poll(WAIT.toSeconds(), SECONDS);
                    assertTrue(loop != null && loop.getName().startsWith("stagecrew-io-"), "handler ran on " + loop);
                    own.close();
                    loop.join(WAIT.toMillis());
                    assertFalse(loop.isAlive(), "close stopped the private loop " + loop.getName());
                } finally {
                    own.close();
                }
            }
        }
    }

    @Nested
    class TheApplicationsGroup {

        @Test
        void aTransportRunsOnTheGivenGroupAndNeverShutsItDown() throws Exception {
            EventLoopGroup group = DomainSockets.of(BACKEND.mode()).newEventLoopGroup(2);
            try {
                BlockingQueue<String> threads = new ArrayBlockingQueue<>(1);
                try (Transport sender = Transport.open(config().build());
                        Transport onGroup = Transport.open(config().eventLoopGroup(group)
                                .eventLoopHandler(f -> threads.offer(Thread.currentThread().getName())).build())) {
                    sender.send(onGroup.address(), utf8("x"), WAIT);
                    String thread = threads.poll(WAIT.toSeconds(), SECONDS);
                    assertTrue(thread != null && thread.startsWith("stagecrew-" + BACKEND.mode().name().toLowerCase(Locale.ROOT)),
                            "handler ran on " + thread);
                }
                assertFalse(group.isShuttingDown(), "closing the transport shut the application's group down");
                Await.until("the closed transport left no channel on the application's group", WAIT, () -> registeredChannels(group) == 0);
                try (Transport again = Transport.open(config().eventLoopGroup(group).build());
                        Transport sender = Transport.open(config().build())) {
                    sender.send(again.address(), utf8("again"), WAIT);
                    receive(again).close();
                }
            } finally {
                group.shutdownGracefully(0, 0, SECONDS).syncUninterruptibly();
            }
        }

        @Test
        void aGroupOfAnotherModeIsRefusedAtOpenNamingTheGroupAndBothModes() {
            IoMode other = BACKEND == IoBackend.NIO ? IoMode.LOCAL : IoMode.NIO;
            EventLoopGroup group = DomainSockets.of(other).newEventLoopGroup(1);
            EventLoopGroup plain = new DefaultEventLoopGroup(1);
            try {
                TransportConfig config = config().fileName("mismatch.sock").eventLoopGroup(group).build();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Transport.open(config));
                assertMentions(e, "mismatch.sock", group.getClass().getName(), "IoMode." + other, "IoMode." + BACKEND.mode(),
                        TransportLoops.ioHandlerType(BACKEND).getName());
                IllegalArgumentException notIo = assertThrows(IllegalArgumentException.class,
                        () -> Transport.open(config().eventLoopGroup(plain).build()));
                assertMentions(notIo, DefaultEventLoopGroup.class.getName(), "not Netty 4.2 IoEventLoops");
                // The refused open gave the address back.
                try (Transport t = Transport.open(config().fileName("mismatch.sock").build())) {
                    assertTrue(t.isOpen());
                }
            } finally {
                group.shutdownGracefully(0, 0, SECONDS).syncUninterruptibly();
                plain.shutdownGracefully(0, 0, SECONDS).syncUninterruptibly();
            }
        }

        @Test
        void aShutDownGroupIsRefusedAtOpen() {
            EventLoopGroup group = DomainSockets.of(BACKEND.mode()).newEventLoopGroup(1);
            group.shutdownGracefully(0, 0, SECONDS).syncUninterruptibly();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Transport.open(config().eventLoopGroup(group).build()));
            assertMentions(e, "is shut down", group.getClass().getName());
        }
    }

    private static Collection<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet();
    }

    /**
     * Channels registered with the loops of {@code group}, counted by each loop (Netty 4.2's I/O loops
     * answer -1 to the public {@code registeredChannels()}; their protected count is exact).
     */
    private static int registeredChannels(EventLoopGroup group) {
        Method count;
        try {
            count = SingleThreadIoEventLoop.class.getDeclaredMethod("getNumOfRegisteredChannels");
            count.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("Netty's SingleThreadIoEventLoop cannot count its channels", e);
        }
        int channels = 0;
        for (EventExecutor loop : group) {
            channels += loop.submit(() -> (Integer) count.invoke(loop)).syncUninterruptibly().getNow();
        }
        return channels;
    }

    /** Timers pending on the loops of {@code group}, read on each loop from Netty's scheduled-task queue. */
    private static int scheduledTasks(EventLoopGroup group) {
        Field queue;
        try {
            queue = AbstractScheduledEventExecutor.class.getDeclaredField("scheduledTaskQueue");
            queue.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("Netty's AbstractScheduledEventExecutor has no scheduledTaskQueue field to count timers in", e);
        }
        int timers = 0;
        for (EventExecutor loop : group) {
            timers += loop.submit(() -> {
                Queue<?> q = (Queue<?>) queue.get(loop);
                return q == null ? 0 : q.size();
            }).syncUninterruptibly().getNow();
        }
        return timers;
    }
}
