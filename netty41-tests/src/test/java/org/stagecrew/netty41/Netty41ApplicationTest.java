package org.stagecrew.netty41;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.Version;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.UnsupportedNettyVersionException;
import org.stagecrew.transport.netty.CompiledAgainstNetty42;
import org.stagecrew.transport.netty.DomainSockets;

/**
 * A Netty 4.1 application that adds stagecrew: its own TCP service keeps working, it moves the service
 * to Unix Domain Sockets with the drop-in, on its own 4.1 event loop groups or on stagecrew's, and what
 * needs Netty 4.2 fails at once, saying so.
 */
@Timeout(60)
class Netty41ApplicationTest {
    private static final long WAIT_SECONDS = 10;

    @TempDir
    Path dir;

    @Test
    void everyNettyArtifactOnTheClassPathIsFromTheSame41Release() {
        Map<String, String> versions = new TreeMap<>();
        Version.identify().forEach((artifact, version) -> versions.put(artifact, version.artifactVersion()));
        assertTrue(versions.containsKey("netty-transport"), versions::toString);
        assertEquals(1, versions.values().stream().distinct().count(), versions::toString);
        assertTrue(versions.get("netty-transport").startsWith("4.1."), versions::toString);
    }

    @Test
    void theApplicationsOwnTcpServiceKeepsWorking() throws Exception {
        EventLoopGroup group = new NioEventLoopGroup(1);
        try {
            Channel server = UppercaseLineService.server(group, NioServerSocketChannel.class)
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            try {
                assertEquals("OVER TCP", UppercaseLineService.call(group, NioSocketChannel.class, server.localAddress(), "over tcp")
                        .get(WAIT_SECONDS, TimeUnit.SECONDS));
            } finally {
                server.close().sync();
            }
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void theServiceMovesToUnixDomainSocketsOnTheApplicationsOwnNetty41Loops(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        EventLoopGroup group = mode == IoMode.EPOLL ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        Path path = dir.resolve("upper.sock");
        try {
            Channel server = uds.bind(UppercaseLineService.server(group, uds.serverChannelType()), path).sync().channel();
            try {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS)));
                assertEquals("OVER UDS", UppercaseLineService.call(group, uds.channelType(), uds.connectAddress(path), "over uds")
                        .get(WAIT_SECONDS, TimeUnit.SECONDS));
            } finally {
                server.close().sync();
            }
            assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "socket file removed with the server channel");
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "LOCAL"})
    void theServiceRunsOnTheDropInsOwnLoopsAndBusyPollingLoops(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        EventLoopGroup group = mode == IoMode.LOCAL ? uds.newEventLoopGroup(1) : uds.newBusyPollEventLoopGroup(1);
        Path path = dir.resolve("own-loops.sock");
        try {
            Channel server = uds.bindInPrivateDirectory(UppercaseLineService.server(group, uds.serverChannelType()), path)
                    .sync().channel();
            try {
                assertEquals("ON 4.1", UppercaseLineService.call(group, uds.channelType(), uds.connectAddress(path), "on 4.1")
                        .get(WAIT_SECONDS, TimeUnit.SECONDS));
            } finally {
                server.close().sync();
            }
        } finally {
            shutDown(group);
        }
    }

    @Test
    void whatNeedsNetty42FailsAtOnceNamingTheVersionFoundAndTheFix() {
        String found = "netty-transport " + Version.identify().get("netty-transport").artifactVersion();

        UnsupportedNettyVersionException open = assertThrows(UnsupportedNettyVersionException.class,
                () -> Transport.open(TransportConfig.builder().socketDirectory(dir).build()).close());
        assertTrue(open.getMessage().startsWith("Transport.open needs Netty 4.2 or newer, and the class path has " + found + ": "),
                open.getMessage());
        assertTrue(open.getMessage().contains("org.stagecrew:stagecrew-bom"), open.getMessage());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing bound, no file left");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }

        // As code compiled against 4.2 calls it: its return type, IoHandlerFactory, does not exist in 4.1.
        UnsupportedNettyVersionException handlers = assertThrows(UnsupportedNettyVersionException.class,
                () -> CompiledAgainstNetty42.ioHandlerFactory(DomainSockets.of(IoMode.NIO)));
        assertTrue(handlers.getMessage().startsWith("DomainSockets.ioHandlerFactory() needs Netty 4.2"), handlers.getMessage());

        assertFalse(IoMode.IO_URING.isAvailable());
        assertTrue(IoMode.IO_URING.unavailabilityCause().getMessage().contains("needs Netty 4.2 or newer, and the class path has " + found),
                IoMode.IO_URING.unavailabilityCause().getMessage());
        TransportException uring = assertThrows(TransportException.class, () -> DomainSockets.of(IoMode.IO_URING));
        assertTrue(uring.getMessage().contains(found), uring.getMessage());
    }

    private static void shutDown(EventLoopGroup group) throws InterruptedException {
        assertTrue(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS), "group terminated");
    }
}
