package org.stagecrew.transport.netty;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportClosedException;

/**
 * The sending half of {@link NettyTransport#close()}: fails what every connection of a {@link
 * SendSide} still queues, ends its acknowledged streams, and waits until the connections are
 * failed and closed. Called by the closing thread, once.
 */
final class SendSideClose {
    private static final Logger LOG = LoggerFactory.getLogger(SendSideClose.class);
    /**
     * How long a close waits for sending threads still inside a write (a thread between claiming
     * its segment and publishing the frame, usually microseconds) so that their frames are reported
     * before close returns; one descheduled for longer is not waited for.
     */
    static final long PRODUCER_GRACE_MILLIS = 1_000;

    private final SendSide sends;
    private final Address address;
    private final EventLoopGroup group;

    SendSideClose(SendSide sends, Address address, EventLoopGroup group) {
        this.sends = sends;
        this.address = address;
        this.group = group;
    }

    /** Starts failing what every connection still queues, and ends the acknowledged streams; returns the failures under way. */
    List<Future<?>> failAll() {
        List<Future<?>> failing = new ArrayList<>();
        for (OutboundConnection connection : sends.connections()) {
            failing.add(sweep(connection));
        }
        sends.closeAcknowledged();
        return failing;
    }

    /**
     * Waits (not on one of our loops) until the connections are failed and closed: a shared or given
     * loop outlives the transport, so the failures under way, the channels and their writes in flight
     * (io_uring completes them later) are awaited, as a terminated private group guarantees; a private
     * group is shut down and awaited, then what its connections still queue is failed. Frames that a
     * producer still holds inside a write are waited for at most {@link #PRODUCER_GRACE_MILLIS} (a
     * close must not hang on a descheduled thread): after that they are reported when it leaves the write. Logs what did not finish within {@link
     * NettyTransport#CLOSE_TIMEOUT_MILLIS}.
     */
    void awaitClosed(TransportLoops loops, boolean onOwnLoop, List<Future<?>> failing) {
        long timeout = NettyTransport.CLOSE_TIMEOUT_MILLIS;
        if (!loops.owned) {
            for (Future<?> f : failing) {
                if (!onOwnLoop && f != null) {
                    f.awaitUninterruptibly(timeout);
                }
            }
            if (onOwnLoop) {
                return;
            }
            if (!(sends.closeChannels(timeout) && awaitSettled(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout)))) {
                LOG.warn("a connection of {} did not close, or its writes did not complete, within {} ms", address, timeout);
            } else if (!sends.awaitFlushed(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PRODUCER_GRACE_MILLIS))) {
                LOG.debug("closed {} while a sending thread was still inside a write; its frames are reported when it leaves it",
                        address);
            }
            return;
        }
        Future<?> terminated = group.shutdownGracefully(0, timeout, TimeUnit.MILLISECONDS);
        if (!onOwnLoop && !terminated.awaitUninterruptibly(timeout)) {
            LOG.warn("event loop of {} did not stop within {} ms", address, timeout);
        }
        for (OutboundConnection connection : sends.connections()) {
            sweep(connection);
        }
    }

    /** Waits until every connection's writes in flight are completed and their failures reported; false at {@code deadline}. */
    private boolean awaitSettled(long deadline) {
        for (OutboundConnection connection : sends.connections()) {
            if (!connection.budget().isSettled() && !connection.budget().awaitSettled(deadline)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Fails what a connection still queues once the transport is closed: on its event loop while
     * that runs, otherwise after the loop has terminated, so that the queue never has two consumers.
     */
    Future<?> sweep(OutboundConnection connection) {
        TransportClosedException cause = new TransportClosedException("send to " + connection.destination()
                + " failed: transport " + address + " is closed");
        try {
            return connection.loop().submit(() -> connection.onFailure(cause));
        } catch (RejectedExecutionException e) {
            group.terminationFuture().addListener(f -> {
                synchronized (connection) {
                    connection.failQueued(cause);
                }
            });
            return null;
        }
    }
}
