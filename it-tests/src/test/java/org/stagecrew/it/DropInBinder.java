package org.stagecrew.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.netty.DomainSockets;

/**
 * The child JVM of {@link DropInExitIT}: binds a server channel through {@link DomainSockets#bind} at
 * {@code args[1]} in mode {@code args[0]}, prints "bound", then, with {@code args[2]} "exit", leaves
 * with {@code System.exit(0)} with the channel still open; with "wait", waits to be killed.
 */
public final class DropInBinder {
    private DropInBinder() {
    }

    public static void main(String[] args) throws Exception {
        DomainSockets uds = DomainSockets.of(IoMode.valueOf(args[0]));
        EventLoopGroup group = uds.newEventLoopGroup(1);
        uds.bind(new ServerBootstrap().group(group).channel(uds.serverChannelType()).childHandler(new ChannelInboundHandlerAdapter()),
                Path.of(args[1])).sync();
        System.out.println("bound");
        System.out.flush();
        if (args[2].equals("exit")) {
            System.exit(0);
        }
        Thread.currentThread().join(); // until killed: the parent's SIGKILL is the point
    }
}
