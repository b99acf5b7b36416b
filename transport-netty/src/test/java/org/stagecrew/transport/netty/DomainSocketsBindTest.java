package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;

/**
 * {@link DomainSockets#bind} gives a user's own {@code ServerBootstrap} what a transport has: one
 * owner per socket file, mode 0600 whatever the umask, stale files replaced, live ones refused,
 * both files removed on close, and errors that name the path. Run for every mode with socket files.
 */
@Timeout(60)
class DomainSocketsBindTest {
    private static final long WAIT_SECONDS = 10;
    private static final int RACE_ROUNDS = 20;

    @TempDir
    Path dir;

    private EventLoopGroup group;

    private DomainSockets uds(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        group = uds.newEventLoopGroup(1);
        return uds;
    }

    @AfterEach
    void shutDown() throws InterruptedException {
        if (group != null) {
            assertTrue(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }

    private ServerBootstrap echoServer(DomainSockets uds) {
        return new ServerBootstrap().group(group).channel(uds.serverChannelType()).childHandler(new Echo());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void theBoundSocketFileIsReadableAndWritableByItsOwnerOnlyWhateverTheUmask(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path path = dir.resolve("own.sock");

        Channel server = uds.bind(echoServer(uds), path).sync().channel();
        try {
            // Read as soon as the future completes: a sync() must never see the umask's mode (0755 under umask 022).
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS)));
            assertEquals("ping", echo(uds, path, "ping"));
        } finally {
            server.close().sync();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void closingTheServerChannelRemovesTheSocketFileAndTheLockFile(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path path = dir.resolve("bye.sock");
        Channel server = uds.bind(echoServer(uds), path).sync().channel();
        assertTrue(Files.exists(AddressLock.lockFileOf(path), LinkOption.NOFOLLOW_LINKS), "lock file while bound");

        server.close().sync();

        Path lockFile = AddressLock.lockFileOf(path);
        // The lock is given up by a listener of the close future, which may run just after sync() returns.
        Await.until("socket file and lock file are removed", Duration.ofSeconds(WAIT_SECONDS),
                () -> !Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS));
        Channel again = uds.bind(echoServer(uds), path).sync().channel(); // and the address is free again
        again.close().sync();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void bindingAnAddressAServerChannelOwnsFailsWithAddressInUseAndLeavesItServing(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path path = dir.resolve("busy.sock");
        Channel owner = uds.bind(echoServer(uds), path).sync().channel();
        try {
            AddressInUseException e = assertThrows(AddressInUseException.class, () -> uds.bind(echoServer(uds), path));
            assertTrue(e.getMessage().startsWith("bind failed for " + path + ": "), e.getMessage());
            if (NettyVersions.hasIoEventLoops()) { // a Transport needs Netty 4.2; this suite runs on 4.1 too
                AddressInUseException viaTransport = assertThrows(AddressInUseException.class, () -> Transport.open(
                        TransportConfig.builder().ioMode(mode).socketDirectory(dir).fileName("busy.sock").build()).close());
                assertTrue(viaTransport.getMessage().contains(path.toString()), viaTransport.getMessage());
            }

            assertEquals("still mine", echo(uds, path, "still mine"));
        } finally {
            owner.close().sync();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void aStaleSocketFileIsReplacedAndALiveForeignListenerRefused(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel jdk = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            jdk.bind(UnixDomainSocketAddress.of(stale)); // closed below: the JDK leaves the file behind
        }
        Channel server = uds.bind(echoServer(uds), stale).sync().channel();
        try {
            assertEquals("fresh", echo(uds, stale, "fresh"));
        } finally {
            server.close().sync();
        }

        Path live = dir.resolve("live.sock");
        try (ServerSocketChannel foreign = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            foreign.bind(UnixDomainSocketAddress.of(live));
            AddressInUseException e = assertThrows(AddressInUseException.class, () -> uds.bind(echoServer(uds), live));
            assertEquals("bind failed for " + live + ": the socket file is held by a live listener; "
                    + "stop that process or choose another name", e.getMessage());
            assertTrue(Files.exists(live, LinkOption.NOFOLLOW_LINKS), "a refused bind leaves the live listener's file alone");
            assertFalse(Files.exists(AddressLock.lockFileOf(live), LinkOption.NOFOLLOW_LINKS), "a refused bind leaves no lock file");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void bindingIntoAMissingDirectoryFailsNamingThePathAndTheDirectory(IoMode mode) {
        DomainSockets uds = uds(mode);
        Path missing = dir.resolve("no-such-dir");
        Path path = missing.resolve("x.sock");
        String expected = "bind failed for " + path + ": the directory " + missing
                + " does not exist; create it (mode 0700) or choose another directory";

        TransportException viaBind = assertThrows(TransportException.class, () -> uds.bind(echoServer(uds), path));
        TransportException viaBindAddress = assertThrows(TransportException.class, () -> uds.bindAddress(path));

        assertEquals(expected, viaBind.getMessage());
        assertEquals(expected, viaBindAddress.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void twoThreadsBindingOnePathAtOnceMakeExactlyOneOwnerThatClientsReach(IoMode mode) throws Exception {
        DomainSockets uds = uds(mode);
        Path path = dir.resolve("race.sock");
        List<String> anomalies = new ArrayList<>();
        for (int round = 0; round < RACE_ROUNDS; round++) {
            CyclicBarrier barrier = new CyclicBarrier(2);
            List<CompletableFuture<Channel>> racers = new ArrayList<>();
            for (String name : List.of("a", "b")) {
                racers.add(Background.call("bind-" + name + "-" + round, () -> {
                    barrier.await(WAIT_SECONDS, TimeUnit.SECONDS);
                    return uds.bind(echoServer(uds), path).sync().channel();
                }));
            }
            List<Channel> owners = new ArrayList<>();
            for (CompletableFuture<Channel> racer : racers) {
                try {
                    owners.add(racer.get(WAIT_SECONDS, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof AddressInUseException)) {
                        anomalies.add("round " + round + ": " + e.getCause());
                    }
                }
            }
            try {
                if (owners.size() != 1) {
                    anomalies.add("round " + round + ": " + owners.size() + " owners");
                } else {
                    echo(uds, path, "round " + round);
                }
            } finally {
                for (Channel owner : owners) {
                    owner.close().sync();
                }
            }
            Await.until("the owner of round " + round + " gives " + path + " up", Duration.ofSeconds(WAIT_SECONDS),
                    () -> !Files.exists(AddressLock.lockFileOf(path), LinkOption.NOFOLLOW_LINKS));
        }
        assertEquals(List.of(), anomalies, mode + ": " + RACE_ROUNDS + " rounds");
    }

    /** Connects a client of the same mode to {@code path}, sends {@code text} and returns the echo. */
    private String echo(DomainSockets uds, Path path, String text) throws Exception {
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        Channel client = new Bootstrap().group(group).channel(uds.channelType())
                .handler(new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                        replies.add(msg.toString(UTF_8));
                    }
                })
                .connect(uds.connectAddress(path)).sync().channel();
        try {
            client.writeAndFlush(Unpooled.copiedBuffer(text, UTF_8)).sync();
            String reply = replies.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(text, reply, "echo from " + path);
            return reply;
        } finally {
            client.close().sync();
        }
    }

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }
}
