package org.stagecrew.transport.netty;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.stagecrew.transport.Address;

/** Tells when a sender's connection to a destination that does not read has stopped moving. */
final class Stalled {
    /** How long a back-pressured connection must stay unwritable, its queue unchanged, to count as stalled. */
    private static final Duration STEADY = Duration.ofMillis(100);

    private Stalled() {
    }

    /**
     * Whether the connection from {@code sender} to {@code to} is back-pressured, its socket full
     * (its drain waits for the socket to take what it was given, or its channel is above its
     * watermark), and stays so, with nothing leaving its queue, for {@link #STEADY}. A drain pass in
     * progress makes the channel unwritable for a moment, which this tells apart.
     */
    static boolean connection(NettyTransport sender, Address to) {
        OutboundConnection connection = sender.connectionTo(to);
        if (connection == null || !connection.isBackPressured() || !connection.isSocketFull()) {
            return false;
        }
        long queued = connection.queuedBytes();
        long deadline = System.nanoTime() + STEADY.toNanos();
        while (System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(5_000_000);
            if (!connection.isSocketFull() || connection.queuedBytes() != queued) {
                return false;
            }
        }
        return true;
    }
}
