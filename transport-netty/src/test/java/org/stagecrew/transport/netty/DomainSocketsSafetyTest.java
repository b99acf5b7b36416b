package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportException;

/**
 * The drop-in's own safety and its low-latency mode: the connect-side address has a name that says
 * so, {@link DomainSockets#bindInPrivateDirectory} gives a server channel the transport's private
 * socket directory, and {@link DomainSockets#newBusyPollEventLoopGroup} the transport's busy-poll
 * event loops. Touches nothing of Netty 4.2, so it runs on Netty 4.1 too (the netty41-tests module).
 */
@Timeout(60)
class DomainSocketsSafetyTest {
    private static final long WAIT_SECONDS = 10;
    /** How long an idle loop's CPU time is measured: long enough for a spinning thread to show under load. */
    private static final long IDLE_MILLIS = 500;

    @TempDir
    Path dir;

    private static DomainSockets uds(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        return DomainSockets.of(mode);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
    @SuppressWarnings("deprecation")
    void theConnectAddressIsWhatTheDeprecatedSocketAddressGave(IoMode mode) {
        DomainSockets uds = uds(mode);
        Path path = dir.resolve("peer.sock");
        assertEquals(uds.socketAddress(path), uds.connectAddress(path));
        assertThrows(IllegalArgumentException.class, () -> uds.connectAddress(dir.resolve("x".repeat(120))),
                "a path too long for sun_path");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void bindingInAPrivateDirectoryCreatesTheMissingDirectoryWithMode0700AndTheSocketFileWith0600(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path socketDir = dir.resolve("made").resolve("here");
        Path path = socketDir.resolve("private.sock");
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            Channel server = uds.bindInPrivateDirectory(echoServer(uds, group), path).sync().channel();
            try {
                assertEquals("rwx------", permissions(socketDir));
                assertEquals("rw-------", permissions(path));
                assertArrayEquals("ping".getBytes(), DropInEchoTest.EchoService.echo(group, uds.channelType(),
                        uds.connectAddress(path), List.of("ping")));
            } finally {
                server.close().sync();
            }
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void bindingInADirectoryOthersCanWriteIsRefusedNamingItAndBindsNothing(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path path = shared.resolve("exposed.sock");
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            TransportException e = assertThrows(TransportException.class, () -> uds.bindInPrivateDirectory(echoServer(uds, group), path));
            assertTrue(e.getMessage().contains(shared.toString()) && e.getMessage().contains("writable by group or others"),
                    e.getMessage());
            assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "no socket file");
            assertFalse(Files.exists(AddressLock.lockFileOf(path), LinkOption.NOFOLLOW_LINKS), "no lock file");
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void bindingInADirectoryThatIsASymbolicLinkIsRefused(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path real = Files.createDirectory(dir.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            TransportException e = assertThrows(TransportException.class,
                    () -> uds.bindInPrivateDirectory(echoServer(uds, group), link.resolve("x.sock")));
            assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
            assertFalse(Files.exists(real.resolve("x.sock"), LinkOption.NOFOLLOW_LINKS));
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "NIO"})
    void aBusyPollLoopSpinsWhileIdleWhereAPlainLoopSleepsAndBothServeTheSameService(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(threads.isCurrentThreadCpuTimeSupported() && threads.isThreadCpuTimeEnabled(), "thread CPU time");
        long[] plain = idleCpuMillis(uds, uds.newEventLoopGroup(1), threads);
        long[] busy = idleCpuMillis(uds, uds.newBusyPollEventLoopGroup(1), threads);
        // Against a thread that spins beside it, so that the machine's load cancels out: a loop asleep in
        // epoll_wait/select uses next to no CPU, a busy-polling one about what the spinner gets.
        assertTrue(plain[0] * 10 < Math.max(plain[1], 10), () -> "plain loop used " + plain[0] + " ms of CPU in "
                + IDLE_MILLIS + " ms idle, a spinning thread " + plain[1] + " ms");
        assertTrue(busy[0] * 3 > busy[1] && busy[1] > 0, () -> "busy-poll loop used " + busy[0] + " ms of CPU in "
                + IDLE_MILLIS + " ms idle, a spinning thread " + busy[1] + " ms");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"IO_URING", "LOCAL"})
    void busyPollIsRefusedByAModeWhoseLoopCannotPollWithoutBlocking(IoMode mode) {
        DomainSockets uds = uds(mode);
        TransportException e = assertThrows(TransportException.class, () -> uds.newBusyPollEventLoopGroup(1));
        assertTrue(e.getMessage().contains("busyPoll") && e.getMessage().contains(mode.name()), e.getMessage());
    }

    @Test
    void aBusyPollGroupsThreadsSayWhatTheyAre() throws Exception {
        DomainSockets uds = DomainSockets.of(IoMode.NIO);
        EventLoopGroup group = uds.newBusyPollEventLoopGroup(1);
        try {
            Thread loop = group.next().submit(Thread::currentThread).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(loop.getName().startsWith("stagecrew-busy-nio"), loop.getName());
            assertTrue(loop.isDaemon(), "daemon");
        } finally {
            shutDown(group);
        }
    }

    /**
     * Serves an echo round trip on {@code group}, then returns the CPU time its thread used while idle,
     * and the CPU time a thread spinning at the same time used.
     */
    private long[] idleCpuMillis(DomainSockets uds, EventLoopGroup group, ThreadMXBean threads) throws Exception {
        Path path = dir.resolve("cpu-" + System.nanoTime() + ".sock");
        try {
            Channel server = uds.bind(echoServer(uds, group), path).sync().channel();
            try {
                assertArrayEquals("ping".getBytes(), DropInEchoTest.EchoService.echo(group, uds.channelType(),
                        uds.connectAddress(path), List.of("ping")));
                long loopId = group.next().submit(() -> Thread.currentThread().getId()).get(WAIT_SECONDS, TimeUnit.SECONDS);
                AtomicBoolean spin = new AtomicBoolean(true);
                Thread spinner = new Thread(() -> {
                    while (spin.get()) {
                        Thread.onSpinWait();
                    }
                }, "reference-spinner");
                spinner.setDaemon(true);
                spinner.start();
                try {
                    long loopBefore = threads.getThreadCpuTime(loopId);
                    long spinnerBefore = threads.getThreadCpuTime(spinner.getId());
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS)); // a measuring interval, not a synchronisation
                    return new long[] {TimeUnit.NANOSECONDS.toMillis(threads.getThreadCpuTime(loopId) - loopBefore),
                        TimeUnit.NANOSECONDS.toMillis(threads.getThreadCpuTime(spinner.getId()) - spinnerBefore)};
                } finally {
                    spin.set(false);
                    spinner.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                }
            } finally {
                server.close().sync();
            }
        } finally {
            shutDown(group);
        }
    }

    private static ServerBootstrap echoServer(DomainSockets uds, EventLoopGroup group) {
        return new ServerBootstrap().group(group).channel(uds.serverChannelType()).childHandler(new DropInEchoTest.EchoServerHandler());
    }

    private static String permissions(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    private static void shutDown(EventLoopGroup group) throws InterruptedException {
        assertTrue(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS), "group terminated");
    }
}
