package org.stagecrew.examples;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.netty.DomainSockets;
import org.stagecrew.transport.netty.FrameCodec;

/**
 * Recipe: a plain Netty pipeline of your own that exchanges frames with a stagecrew
 * {@link org.stagecrew.transport.Transport}, in both directions, by putting {@link FrameCodec}'s
 * handlers in front of its own. Frames flow one way per connection (PROTOCOL.md), so the service
 * listens at an address of its own, where transports send to it, and connects to a transport to send.
 * The hello it sends names its listening address: that is where the transport's replies go.
 */
final class NettyPipelineWithFrameCodec {
    /** The largest frame this service accepts; it tells every transport that connects. */
    static final int MAX_FRAME_LENGTH = 1024 * 1024;

    private static final Duration HELLO_TIMEOUT = Duration.ofSeconds(5);

    private NettyPipelineWithFrameCodec() {
    }

    /**
     * Listens at {@code self} for transports that send to it: each accepted connection answers the
     * hello, then hands {@code frames} one {@link ByteBuf} per frame. A stale socket file is replaced,
     * a live listener's is refused. Close the returned channel (which unlinks the file) before
     * shutting down {@code group}.
     */
    static Channel listen(DomainSockets uds, EventLoopGroup group, Address self, ChannelHandler frames)
            throws InterruptedException {
        return new ServerBootstrap().group(group).channel(uds.serverChannelType())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(FrameCodec.listenerHello(self, MAX_FRAME_LENGTH, HELLO_TIMEOUT),
                                FrameCodec.decoder(MAX_FRAME_LENGTH), frames);
                    }
                })
                .bind(uds.bindAddress(self.toPath())).sync().channel();
    }

    /**
     * Connects to the transport at {@code transport} and sends our hello, which names {@code self} as
     * the sender of our frames. Write one {@code ByteBuf} per frame to the returned channel (at once:
     * no need to wait for the answer); a rejection closes it with a {@code PeerRejectedException}
     * through {@code exceptionCaught}. Close it before shutting down {@code group}.
     */
    static Channel connect(DomainSockets uds, EventLoopGroup group, Address self, Address transport)
            throws InterruptedException {
        return new Bootstrap().group(group).channel(uds.channelType())
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(FrameCodec.connectorHello(self, transport), FrameCodec.encoder());
                    }
                })
                .connect(uds.socketAddress(transport)).sync().channel();
    }

    /**
     * The service's own frame handler: queues each frame as text and each connecting transport's
     * address (from {@link FrameCodec.HelloReceived}). Shared by every connection; the queues are
     * thread-safe. {@link SimpleChannelInboundHandler} releases each frame after {@code channelRead0}.
     */
    @ChannelHandler.Sharable
    static final class TextFrames extends SimpleChannelInboundHandler<ByteBuf> {
        private final BlockingQueue<String> texts;
        private final BlockingQueue<Address> senders;

        TextFrames(BlockingQueue<String> texts, BlockingQueue<Address> senders) {
            this.texts = texts;
            this.senders = senders;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            texts.add(frame.toString(StandardCharsets.UTF_8));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof FrameCodec.HelloReceived hello) {
                senders.add(hello.sender());
            }
            ctx.fireUserEventTriggered(event);
        }
    }
}
