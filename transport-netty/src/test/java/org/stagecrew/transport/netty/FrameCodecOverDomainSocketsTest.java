package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerCredentials;

/**
 * A listener and a connector built only from the drop-in ({@link DomainSockets}) and {@link FrameCodec},
 * no {@link org.stagecrew.transport.Transport}: the hello exchange names each side, and every frame
 * arrives once, in order, byte for byte. Touches nothing of Netty 4.2, so it runs on Netty 4.1 too
 * (the netty41-tests module runs it there).
 */
@Timeout(60)
class FrameCodecOverDomainSocketsTest {
    private static final long WAIT_SECONDS = 10;
    private static final int FRAMES = 2_000;
    private static final int MAX_FRAME_LENGTH = 64 * 1024;

    @TempDir
    Path dir;

    private EventLoopGroup group;

    @AfterEach
    void shutDown() throws InterruptedException {
        if (group != null) {
            assertTrue(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
    void everyFrameOfARawConnectorReachesARawListenerInOrderAfterTheHellos(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        group = uds.newEventLoopGroup(1);
        Path listenerPath = dir.resolve("listener.sock");
        Address listenerAddress = Address.of(listenerPath);
        Address connectorAddress = Address.of(dir.resolve("connector.sock"));
        BlockingQueue<Object> atListener = new LinkedBlockingQueue<>();
        BlockingQueue<Object> atConnector = new LinkedBlockingQueue<>();

        Channel listener = uds.bind(new ServerBootstrap().group(group).channel(uds.serverChannelType())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(FrameCodec.listenerHello(listenerAddress, MAX_FRAME_LENGTH, Duration.ofSeconds(WAIT_SECONDS)),
                                FrameCodec.decoder(MAX_FRAME_LENGTH), new Recorder(atListener));
                    }
                }), listenerPath).sync().channel();
        try {
            Channel connector = new Bootstrap().group(group).channel(uds.channelType())
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(FrameCodec.connectorHello(connectorAddress, listenerAddress),
                                    FrameCodec.encoder(), new Recorder(atConnector));
                        }
                    })
                    .connect(uds.connectAddress(listenerPath)).sync().channel();
            try {
                for (int i = 0; i < FRAMES; i++) {
                    connector.write(ByteBufUtil.writeUtf8(connector.alloc(), payload(i)));
                }
                connector.flush();

                FrameCodec.HelloAccepted accepted = assertInstanceOf(FrameCodec.HelloAccepted.class, next(atConnector));
                assertEquals(new FrameCodec.HelloAccepted(listenerAddress, MAX_FRAME_LENGTH), accepted);
                FrameCodec.HelloReceived hello = assertInstanceOf(FrameCodec.HelloReceived.class, next(atListener));
                assertEquals(connectorAddress, hello.sender());
                if (mode != IoMode.LOCAL && mode != IoMode.NIO) { // NIO knows the user only; LOCAL has no kernel
                    assertEquals(PeerCredentials.ofThisProcess().uid(), hello.credentials().uid());
                }
                for (int i = 0; i < FRAMES; i++) {
                    assertEquals(payload(i), next(atListener), "frame " + i);
                }
                assertNull(atListener.poll(100, TimeUnit.MILLISECONDS), "no frame twice, nothing else");
            } finally {
                connector.close().sync();
            }
        } finally {
            listener.close().sync();
        }
    }

    private static String payload(int i) {
        return i + ":" + "é✓".repeat(i % 97);
    }

    private static Object next(BlockingQueue<Object> queue) throws InterruptedException {
        Object event = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(event, "nothing arrived within " + WAIT_SECONDS + " s");
        if (event instanceof Throwable) {
            throw new AssertionError("the pipeline failed", (Throwable) event);
        }
        return event;
    }

    /** Records hello events, frames (as text; the buffer is released here) and failures. */
    private static final class Recorder extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Object> events;

        Recorder(BlockingQueue<Object> events) {
            this.events = events;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            try {
                events.add(frame.toString(StandardCharsets.UTF_8));
            } finally {
                frame.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof FrameCodec.HelloReceived || event instanceof FrameCodec.HelloAccepted) {
                events.add(event);
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            events.add(cause);
        }
    }
}
