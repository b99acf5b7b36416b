package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;

/**
 * The README's "Moving a Netty service to Unix Domain Sockets" runs, and the README shows exactly the
 * code that runs (and compiles) here.
 */
@Timeout(60)
class DropInReadmeTest {

    private static final Path SOURCE = Path.of("src/test/java/org/stagecrew/transport/netty/DropInReadmeTest.java");
    private static final Path README = Path.of("../README.md");

    @TempDir
    Path socketDir;

    private final BlockingQueue<String> echoed = new LinkedBlockingQueue<>();

    @Test
    void theAfterSnippetServesAndConnectsOverUnixDomainSockets() throws Exception {
        // README-DROPIN-BEGIN
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        DomainSockets uds = DomainSockets.of(IoMode.AUTO);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        SocketAddress address = uds.connectAddress(socketDir.resolve("echo.sock"));
        try {
            Channel server = uds.bind(new ServerBootstrap().group(group).channel(uds.serverChannelType())
                    .childHandler(new EchoServerHandler()), socketDir.resolve("echo.sock")).sync().channel();
            Channel client = new Bootstrap().group(group).channel(uds.channelType())
                    .handler(new EchoClientHandler(replies))
                    .connect(address).sync().channel();
            client.writeAndFlush(Unpooled.copiedBuffer("ping", StandardCharsets.UTF_8));
            System.out.println(replies.poll(5, TimeUnit.SECONDS)); // ping
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully();
        }
        // README-DROPIN-END

        assertEquals("ping", echoed.poll(0, TimeUnit.SECONDS), "the client did not get the echo");
        assertTrue(group.terminationFuture().await(10, TimeUnit.SECONDS), "event loop group terminated");
        assertFalse(Files.exists(socketDir.resolve("echo.sock")), "socket file left behind after the server closed");
    }

    /** The TCP original of the README's "before": compiled to keep it honest, not run (it needs a free fixed port). */
    @SuppressWarnings("unused")
    private void tcpBeforeTheMove() throws Exception {
        // README-TCP-BEGIN
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        SocketAddress address = new InetSocketAddress("127.0.0.1", 7007);
        try {
            Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new EchoServerHandler())
                    .bind(address).sync().channel();
            Channel client = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new EchoClientHandler(replies))
                    .connect(address).sync().channel();
            client.writeAndFlush(Unpooled.copiedBuffer("ping", StandardCharsets.UTF_8));
            System.out.println(replies.poll(5, TimeUnit.SECONDS)); // ping
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully();
        }
        // README-TCP-END
    }

    @Test
    void readmeContainsTheBeforeAndAfterSnippetsVerbatim() throws IOException {
        List<String> source = Files.readAllLines(SOURCE);
        String before = snippet(source, "// README-TCP-BEGIN", "// README-TCP-END");
        String after = snippet(source, "// README-DROPIN-BEGIN", "// README-DROPIN-END");

        assertTrue(Files.exists(README), () -> "README.md not found at " + README.toAbsolutePath().normalize());
        String readme = Files.readString(README).replace("\r\n", "\n");
        assertTrue(readme.contains(before), () -> "README.md must contain the TCP snippet of " + SOURCE + " verbatim:\n" + before);
        assertTrue(readme.contains(after), () -> "README.md must contain the UDS snippet of " + SOURCE + " verbatim:\n" + after);
    }

    private static String snippet(List<String> lines, String beginMarker, String endMarker) {
        List<String> between = lines.subList(indexOfMarker(lines, beginMarker) + 1, indexOfMarker(lines, endMarker));
        int indent = between.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return between.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).collect(Collectors.joining("\n"));
    }

    private static int indexOfMarker(List<String> lines, String marker) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).trim().equals(marker)) {
                return i;
            }
        }
        throw new AssertionError(marker + " not found in " + SOURCE);
    }

    /** The service's own server handler: writes back what it reads. */
    @ChannelHandler.Sharable
    static final class EchoServerHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** The service's own client handler: hands each reply to a queue (and, for the test, to {@link #echoed}). */
    final class EchoClientHandler extends SimpleChannelInboundHandler<ByteBuf> {
        private final BlockingQueue<String> replies;

        EchoClientHandler(BlockingQueue<String> replies) {
            this.replies = replies;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
            String reply = msg.toString(StandardCharsets.UTF_8);
            replies.add(reply);
            echoed.add(reply);
        }
    }
}
