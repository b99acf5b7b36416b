package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.IoHandle;
import io.netty.channel.SelectStrategy;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.IntSupplier;

/**
 * The select strategy of a busy-polling epoll event loop: on most turns it reads the connection that
 * last brought frames ({@link BusyConnection}) straight from its socket, and only on every
 * {@code 1 + skips}-th turn asks epoll ({@code epoll_wait} with a zero timeout) which sockets are
 * ready. A request-reply peer's next frame then costs one {@code recvfrom} instead of an {@code
 * epoll_wait} that reports it and a {@code recvfrom} that reads it. The other sockets of the loop,
 * and every event but a read, wait at most {@code skips} turns longer (each a {@code recvfrom} that
 * finds nothing) than with {@link IoBackend#POLL_WITHOUT_BLOCKING}; tasks and timers run every turn.
 *
 * <p>The direct read is Netty's own: the channel's {@link IoHandle} is handed a readable event, so
 * the read loop, buffer sizing, pipeline, end of stream and errors are Netty's, as after epoll
 * reported it. A connection is read directly only while it is open and reading ({@code autoRead}: a
 * full inbox pauses it); a readable event that epoll reports after a direct read took the bytes
 * reads nothing and returns.
 *
 * <p>Event loop thread only: one instance per loop, made by its {@code IoHandler} factory.
 */
final class EpollBusyPollStrategy implements SelectStrategy {
    /** Turns that read the busy connection directly between two epoll polls. */
    static final int SKIPS = 4;
    private static final EpollIoEvent READABLE = () -> EpollIoOps.EPOLLIN;

    private final int skips;
    /** This loop's, from its first turn on. */
    private BusyConnection busy;
    private int skipped;

    EpollBusyPollStrategy(int skips) {
        this.skips = skips;
    }

    @Override
    public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
        if (busy == null) {
            busy = BusyConnection.ofCurrentLoop(); // the first turn, on the loop's thread
        }
        Channel channel = busy.channel;
        if (channel == null || skipped == skips) {
            skipped = 0;
            return selectNow.get();
        }
        skipped++;
        if (!channel.isActive() || !channel.config().isAutoRead()) {
            busy.channel = null;
            return SelectStrategy.CONTINUE;
        }
        ((IoHandle) channel.unsafe()).handle(null, READABLE);
        return SelectStrategy.CONTINUE;
    }
}
