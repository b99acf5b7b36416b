package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The connection that a busy-polling epoll loop reads without asking epoll ({@link
 * EpollBusyPollStrategy}): the one that last brought frames, set by its decoder after each read.
 * One per loop thread that runs the strategy, none on any other thread. Free of Netty 4.2 types, so
 * that a decoder on Netty 4.1 can call {@link #readOn} (where it does nothing). Event loop thread only.
 */
final class BusyConnection {
    private static final FastThreadLocal<BusyConnection> OF_LOOP = new FastThreadLocal<>();

    /** The connection to read directly, or null. */
    Channel channel;

    private BusyConnection() {
    }

    /** The calling loop thread's, made on its first call. */
    static BusyConnection ofCurrentLoop() {
        BusyConnection busy = OF_LOOP.getIfExists();
        if (busy == null) {
            busy = new BusyConnection();
            OF_LOOP.set(busy);
        }
        return busy;
    }

    /**
     * After a read of {@code channel} on its event loop: whether the loop may read it directly from now
     * on (false while the decoder holds a cut frame's bytes, which every read buffer would copy).
     */
    static void readOn(Channel channel, boolean directly) {
        BusyConnection busy = OF_LOOP.getIfExists();
        if (busy == null) {
            return;
        }
        if (directly) {
            busy.channel = channel;
        } else if (busy.channel == channel) {
            busy.channel = null;
        }
    }
}
