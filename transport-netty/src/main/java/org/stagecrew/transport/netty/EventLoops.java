package org.stagecrew.transport.netty;

import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SelectStrategyFactory;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.kqueue.KQueueEventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.nio.channels.spi.SelectorProvider;
import java.util.concurrent.ThreadFactory;
import org.stagecrew.transport.TransportException;

/**
 * Creates the event loop group of an {@link IoBackend} on the Netty found at run time: Netty 4.2's
 * {@code MultiThreadIoEventLoopGroup} with the backend's {@code IoHandler}, or on Netty 4.1 the
 * per-transport groups ({@code EpollEventLoopGroup}, {@code KQueueEventLoopGroup}, {@code
 * NioEventLoopGroup}, {@code DefaultEventLoopGroup} for LOCAL), which 4.2 still has (deprecated) with
 * the same constructors. Each path is a class of its own, loaded only on the Netty it is for, so
 * that no 4.2-only class is ever resolved on 4.1.
 *
 * <p>Thread-safe; stateless.
 */
final class EventLoops {
    private EventLoops() {
    }

    /**
     * A new group of {@code threads} threads from {@code threads} for {@code backend}; the caller owns it.
     *
     * @param busyPoll whether the loops poll without ever blocking in the kernel
     * @throws TransportException if the backend cannot busy-poll, or (IO_URING) needs Netty 4.2
     */
    static EventLoopGroup newGroup(IoBackend backend, int threads, ThreadFactory threadFactory, boolean busyPoll) {
        if (NettyVersions.hasIoEventLoops()) {
            return IoHandlerLoops.newGroup(backend, threads, threadFactory, busyPoll);
        }
        return Netty41Loops.newGroup(backend, threads, threadFactory, busyPoll);
    }

    /** Netty 4.2 and later. */
    private static final class IoHandlerLoops {
        static EventLoopGroup newGroup(IoBackend backend, int threads, ThreadFactory threadFactory, boolean busyPoll) {
            return new MultiThreadIoEventLoopGroup(threads, threadFactory, backend.newIoHandlerFactory(busyPoll));
        }
    }

    /** Netty 4.1: the groups that 4.2 deprecates, with constructors that exist unchanged in both. */
    @SuppressWarnings("deprecation")
    private static final class Netty41Loops {
        static EventLoopGroup newGroup(IoBackend backend, int threads, ThreadFactory threadFactory, boolean busyPoll) {
            SelectStrategyFactory strategy = busyPoll ? () -> IoBackend.POLL_WITHOUT_BLOCKING : null;
            switch (backend) {
                case EPOLL:
                    return busyPoll ? new EpollEventLoopGroup(threads, threadFactory, strategy)
                            : new EpollEventLoopGroup(threads, threadFactory);
                case KQUEUE:
                    return busyPoll ? new KQueueEventLoopGroup(threads, threadFactory, strategy)
                            : new KQueueEventLoopGroup(threads, threadFactory);
                case NIO:
                    return busyPoll ? new NioEventLoopGroup(threads, threadFactory, SelectorProvider.provider(), strategy)
                            : new NioEventLoopGroup(threads, threadFactory);
                case LOCAL:
                    if (busyPoll) {
                        throw backend.busyPollUnsupported();
                    }
                    return new DefaultEventLoopGroup(threads, threadFactory);
                default:
                    // IO_URING is reported unavailable on 4.1 (IoBackend's probe), so this is not reached through DomainSockets.
                    NettyVersions.requireIoEventLoops("IoMode." + backend.mode());
                    throw new AssertionError(backend);
            }
        }
    }
}
