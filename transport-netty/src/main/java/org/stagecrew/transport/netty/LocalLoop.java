package org.stagecrew.transport.netty;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ConcurrentHashMap;
import org.stagecrew.transport.Address;

/**
 * What LOCAL-mode transports of this JVM share: one event loop (a {@code LocalChannel} tells its
 * peer that it closed by running a task on the peer's event loop, so in-JVM transports must not
 * shut their loops down one by one; this loop lives as long as the JVM, a daemon thread idle when
 * unused), and the inboxes by address. A {@code LocalChannel} hands every write straight to its
 * peer's unbounded queue, so a sender looks at its destination's inbox to stop when it is full,
 * as a socket buffer would make it.
 */
final class LocalLoop {
    private static final ConcurrentHashMap<Address, Inbox> INBOXES = new ConcurrentHashMap<>();

    private LocalLoop() {
    }

    static void register(Address address, Inbox inbox) {
        INBOXES.put(address, inbox);
    }

    static void unregister(Address address, Inbox inbox) {
        INBOXES.remove(address, inbox);
    }

    static Inbox inbox(Address address) {
        return INBOXES.get(address);
    }

    static EventLoopGroup shared() {
        return Holder.GROUP;
    }

    private static final class Holder {
        static final EventLoopGroup GROUP =
                new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("stagecrew-local", true), LocalIoHandler.newFactory());
    }
}
