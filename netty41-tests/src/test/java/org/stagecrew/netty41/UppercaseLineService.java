package org.stagecrew.netty41;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * What a Netty 4.1 application already has: a line service written against plain Netty, and its
 * client; nothing here knows whether the channels are TCP or Unix Domain Sockets.
 */
final class UppercaseLineService {
    private static final int MAX_LINE = 64 * 1024;

    private UppercaseLineService() {
    }

    /** The server's bootstrap: answers each line with the line in upper case. */
    static ServerBootstrap server(EventLoopGroup group, Class<? extends ServerChannel> channelType) {
        return new ServerBootstrap().group(group).channel(channelType).childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE), new StringDecoder(StandardCharsets.UTF_8),
                        new StringEncoder(StandardCharsets.UTF_8), new SimpleChannelInboundHandler<String>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, String line) {
                                ctx.writeAndFlush(line.toUpperCase(Locale.ROOT) + "\n");
                            }
                        });
            }
        });
    }

    /** Connects, sends {@code line}, and completes with the answer; the connection is closed after it. */
    static CompletableFuture<String> call(EventLoopGroup group, Class<? extends Channel> channelType, SocketAddress address,
            String line) {
        CompletableFuture<String> answer = new CompletableFuture<>();
        new Bootstrap().group(group).channel(channelType).handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE), new StringDecoder(StandardCharsets.UTF_8),
                        new StringEncoder(StandardCharsets.UTF_8), new SimpleChannelInboundHandler<String>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, String reply) {
                                answer.complete(reply);
                                ctx.close();
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                answer.completeExceptionally(new IllegalStateException("closed before an answer: " + ctx.channel()));
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                answer.completeExceptionally(cause);
                                ctx.close();
                            }
                        });
            }
        }).connect(address).addListener(connected -> {
            if (connected.isSuccess()) {
                ((io.netty.channel.ChannelFuture) connected).channel().writeAndFlush(line + "\n");
            } else {
                answer.completeExceptionally(connected.cause());
            }
        });
        return answer;
    }
}
