package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.IoMode;

/**
 * A plain Netty echo service, with its own handlers and no stagecrew transport or codec, written the
 * usual TCP-loopback way and then moved to Unix Domain Sockets by taking the event loop group, the
 * two channel types and the address from {@link DomainSockets}: the drop-in promise.
 */
@Timeout(60)
class DropInEchoTest {
    private static final long WAIT_SECONDS = 10;
    private static final List<String> MESSAGES = List.of("hello", "échö ✓", "x".repeat(70_000), "bye");

    @TempDir
    Path dir;

    @Test
    void theEchoServiceWorksOverTcpLoopbackBeforeTheMove() throws Exception {
        // A NIO group serves TCP channels too, on Netty 4.1 and 4.2 alike.
        EventLoopGroup group = DomainSockets.of(IoMode.NIO).newEventLoopGroup(1);
        try {
            Channel server = EchoService.startServer(group, NioServerSocketChannel.class, new InetSocketAddress("127.0.0.1", 0));
            try {
                byte[] echoed = EchoService.echo(group, NioSocketChannel.class, server.localAddress(), MESSAGES);
                assertArrayEquals(EchoService.concat(MESSAGES), echoed);
            } finally {
                EchoService.close(server);
            }
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
    void theSameEchoServiceWorksOverUnixDomainSocketsWithOnlyGroupChannelTypesAndAddressChanged(IoMode mode) throws Exception {
        assumeAvailable(mode);
        DomainSockets uds = DomainSockets.of(mode);
        assertEquals(mode, uds.mode());
        Path socketFile = dir.resolve("echo.sock");
        SocketAddress address = uds.connectAddress(socketFile);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            Channel server = EchoService.startServer(group, uds.serverChannelType(), address);
            try {
                assertEquals(mode.usesSocketFiles(), Files.exists(socketFile), "socket file exists while bound");
                byte[] echoed = EchoService.echo(group, uds.channelType(), address, MESSAGES);
                assertArrayEquals(EchoService.concat(MESSAGES), echoed);
            } finally {
                EchoService.close(server);
                // Netty's server channels unlink their socket file on close (see the test below); this only
                // keeps a failed close from leaving a file behind.
                Files.deleteIfExists(socketFile);
            }
        } finally {
            shutDown(group);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "IO_URING", "NIO"})
    void closingTheServerChannelDeletesItsSocketFileInEveryFileMode(IoMode mode) throws Exception {
        assumeAvailable(mode);
        DomainSockets uds = DomainSockets.of(mode);
        Path socketFile = dir.resolve("unlink.sock");
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            Channel server = EchoService.startServer(group, uds.serverChannelType(), uds.connectAddress(socketFile));
            assertTrue(Files.exists(socketFile), "socket file created by bind");
            EchoService.close(server);
            boolean leftBehind = Files.exists(socketFile);
            Files.deleteIfExists(socketFile);
            assertFalse(leftBehind, () -> mode + ": socket file " + socketFile + " left behind when the server channel closed");
        } finally {
            shutDown(group);
        }
    }

    private static void assumeAvailable(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: "
                + mode.unavailabilityCause());
    }

    private static void shutDown(EventLoopGroup group) throws InterruptedException {
        assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                "event loop group terminated");
    }

    /** The service under test: what an existing Netty user already has, written against plain Netty. */
    static final class EchoService {
        private EchoService() {
        }

        /** Binds an echo server; the caller closes the returned channel. */
        static Channel startServer(EventLoopGroup group, Class<? extends ServerChannel> channelType, SocketAddress address)
                throws Exception {
            ChannelFuture bound = new ServerBootstrap().group(group).channel(channelType)
                    .childHandler(new EchoServerHandler())
                    .bind(address);
            bound.get(WAIT_SECONDS, TimeUnit.SECONDS);
            return bound.channel();
        }

        /** Connects, sends every message, and returns the bytes echoed back once all have arrived. */
        static byte[] echo(EventLoopGroup group, Class<? extends Channel> channelType, SocketAddress address,
                List<String> messages) throws Exception {
            byte[] expected = concat(messages);
            EchoClientHandler client = new EchoClientHandler(expected.length);
            Channel channel = connect(new Bootstrap().group(group).channel(channelType).handler(client), address);
            try {
                for (String message : messages) {
                    channel.write(Unpooled.copiedBuffer(message, StandardCharsets.UTF_8));
                }
                channel.flush();
                return client.echoed.get(WAIT_SECONDS, TimeUnit.SECONDS);
            } finally {
                close(channel);
            }
        }

        static void close(Channel channel) throws Exception {
            channel.close().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertFalse(channel.isOpen(), channel + " closed");
        }

        static byte[] concat(List<String> messages) {
            return String.join("", messages).getBytes(StandardCharsets.UTF_8);
        }

        private static Channel connect(Bootstrap bootstrap, SocketAddress address) throws Exception {
            ChannelFuture connected = bootstrap.connect(address);
            connected.get(WAIT_SECONDS, TimeUnit.SECONDS);
            return connected.channel();
        }
    }

    /** Writes back whatever it reads; the buffer it read is the one it writes, so nothing to release. */
    @ChannelHandler.Sharable
    static final class EchoServerHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }

    /** Collects the echoed bytes and completes once {@code expected} bytes have arrived. */
    static final class EchoClientHandler extends SimpleChannelInboundHandler<ByteBuf> {
        final CompletableFuture<byte[]> echoed = new CompletableFuture<>();
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final int expected;

        EchoClientHandler(int expected) {
            this.expected = expected;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
            byte[] bytes = new byte[msg.readableBytes()];
            msg.readBytes(bytes);
            received.writeBytes(bytes);
            if (received.size() >= expected) {
                echoed.complete(received.toByteArray());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            echoed.completeExceptionally(new AssertionError("connection closed after " + received.size() + " of "
                    + expected + " echoed bytes"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            echoed.completeExceptionally(cause);
            ctx.close();
        }
    }
}
