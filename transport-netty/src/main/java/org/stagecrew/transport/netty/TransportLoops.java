package org.stagecrew.transport.netty;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.kqueue.KQueueIoHandler;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.util.NettyRuntime;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportConfig;

/**
 * The event loops of one {@link NettyTransport}, and whether it owns them. Three cases:
 *
 * <ul>
 *   <li>the default ({@code ioThreads} 0, no {@code eventLoopGroup}): one loop of the JVM-wide shared
 *       group of the transport's mode, picked round-robin at open, so that a thousand transports run on
 *       as many threads as there are cores. The shared groups are made on first use and kept for the
 *       JVM's life, never shut down: their daemon threads sleep in the kernel while idle, and a group
 *       that came and went with its last transport would make and kill threads whenever a process's
 *       only unit restarts (reference counting buys nothing else, and a count that reached zero while
 *       another thread opened would need a lock around every open and close). LOCAL mode shares
 *       {@link LocalLoop}'s loop instead;</li>
 *   <li>the user's {@code eventLoopGroup}: one of its loops, likewise; its event loops must run the
 *       mode's {@code IoHandler}; the transport never shuts it down;</li>
 *   <li>a private group of {@code ioThreads} threads, or of one busy-polling thread for {@code
 *       busyPoll}: owned, shut down by the transport's close. Busy-polling loops are never shared: each
 *       spins one CPU for its own transport.</li>
 * </ul>
 *
 * <p>A transport on one loop has all its channels there, server, accepted and outbound, as a private
 * group of one thread would: the same ordering and the same thread for its {@code eventLoopHandler}.
 * Thread-safe; the shared groups are created at most once per mode.
 */
final class TransportLoops {
    /** Threads of the shared groups are named {@code stagecrew-shared-<mode>-<pool>-<n>}. */
    static final String SHARED_THREAD_PREFIX = "stagecrew-shared-";
    private static final ConcurrentHashMap<IoBackend, EventLoopGroup> SHARED = new ConcurrentHashMap<>();

    /** What channels register with: one loop, or the whole private group. */
    final EventLoopGroup group;
    /** The loops on which a close must not wait: the whole group {@link #group} belongs to. */
    final EventLoopGroup family;
    /** Whether the transport made {@link #group} and shuts it down. */
    final boolean owned;

    private TransportLoops(EventLoopGroup group, EventLoopGroup family, boolean owned) {
        this.group = group;
        this.family = family;
        this.owned = owned;
    }

    /**
     * The loops of a transport opened with {@code config} at {@code address}.
     *
     * @param ioHandlers the handler factory of a private group (busy-polling or not); null for LOCAL
     * @throws IllegalArgumentException if the user's group does not run {@code backend}'s I/O
     * @throws IllegalStateException if the user's group is shut down
     */
    static TransportLoops of(TransportConfig config, IoBackend backend, Address address, String name, IoHandlerFactory ioHandlers) {
        EventLoopGroup given = config.eventLoopGroup();
        if (given != null) {
            requireCompatible(given, backend, address);
            if (isCurrentThreadIn(given)) {
                throw new IllegalStateException("open failed for " + address + ": it was called on an event loop of its"
                        + " TransportConfig.eventLoopGroup, which must not wait for the bind on a loop of its own group; open it"
                        + " from another thread");
            }
            return new TransportLoops(given.next(), given, false);
        }
        if (backend == IoBackend.LOCAL) {
            return new TransportLoops(LocalLoop.shared(), LocalLoop.shared(), false);
        }
        EventLoopGroup shared = config.busyPoll() || config.ioThreads() > 0 ? null : shared(backend);
        if (shared != null && !isCurrentThreadIn(shared)) {
            return new TransportLoops(shared.next(), shared, false);
        }
        // A private group: asked for, or opened on a shared loop, which must not wait for a bind on a loop of its own group
        // (two loops opening transports on each other's loops at once would each wait for the other).
        EventLoopGroup own = new MultiThreadIoEventLoopGroup(Math.max(1, config.ioThreads()),
                new DefaultThreadFactory("stagecrew-io-" + name, true), ioHandlers);
        return new TransportLoops(own, own, true);
    }

    /** The JVM-wide group of {@code backend}: {@link #sharedThreads()} daemon threads, made on first use. */
    static EventLoopGroup shared(IoBackend backend) {
        return SHARED.computeIfAbsent(backend, b -> EventLoops.newGroup(b, sharedThreads(),
                new DefaultThreadFactory(SHARED_THREAD_PREFIX + b.mode().name().toLowerCase(Locale.ROOT), true), false));
    }

    /** Threads of each shared group: the cores Netty sees ({@code -Dio.netty.availableProcessors} overrides). */
    static int sharedThreads() {
        return NettyRuntime.availableProcessors();
    }

    /** Whether the calling thread is one of {@link #family}'s loops, on which a close must not wait. */
    boolean isCurrentThreadOurs() {
        return isCurrentThreadIn(family);
    }

    private static boolean isCurrentThreadIn(EventLoopGroup group) {
        for (EventExecutor loop : group) {
            if (loop.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    private static void requireCompatible(EventLoopGroup group, IoBackend backend, Address address) {
        Class<? extends IoHandler> needed = ioHandlerType(backend);
        for (EventExecutor loop : group) {
            if (!(loop instanceof IoEventLoop) || !((IoEventLoop) loop).isIoType(needed)) {
                throw new IllegalArgumentException("open failed for " + address + ": TransportConfig.eventLoopGroup is a "
                        + group.getClass().getName() + " whose event loops " + describe(loop) + ", and IoMode." + backend.mode()
                        + " needs event loops of " + needed.getName() + ": make the group with DomainSockets.of(IoMode."
                        + backend.mode() + ").newEventLoopGroup(n), or set ioMode to the group's mode");
            }
        }
        if (group.isShuttingDown()) {
            throw new IllegalStateException("open failed for " + address + ": TransportConfig.eventLoopGroup "
                    + group.getClass().getName() + " is shut down; give an open group, or none for the shared one");
        }
    }

    private static String describe(EventExecutor loop) {
        if (loop instanceof IoEventLoop) {
            for (IoBackend b : IoBackend.values()) {
                if (((IoEventLoop) loop).isIoType(ioHandlerType(b))) {
                    return "run IoMode." + b.mode() + " (" + ioHandlerType(b).getName() + ")";
                }
            }
            return "run another IoHandler";
        }
        return "are " + loop.getClass().getName() + ", not Netty 4.2 IoEventLoops";
    }

    static Class<? extends IoHandler> ioHandlerType(IoBackend backend) {
        switch (backend) {
            case EPOLL:
                return EpollIoHandler.class;
            case KQUEUE:
                return KQueueIoHandler.class;
            case IO_URING:
                return IoUringIoHandler.class;
            case NIO:
                return NioIoHandler.class;
            case LOCAL:
                return LocalIoHandler.class;
            default:
                throw new AssertionError(backend);
        }
    }
}
