package org.stagecrew.transport.netty;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The one event loop that every LOCAL-mode transport of this JVM shares. A {@code LocalChannel}
 * tells its peer that it closed by running a task on the peer's event loop, so in-JVM transports
 * must not shut their loops down one by one; this loop lives as long as the JVM (a daemon thread,
 * idle when unused).
 */
final class LocalLoop {
    private LocalLoop() {
    }

    static EventLoopGroup shared() {
        return Holder.GROUP;
    }

    private static final class Holder {
        static final EventLoopGroup GROUP =
                new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("stagecrew-local", true), LocalIoHandler.newFactory());
    }
}
