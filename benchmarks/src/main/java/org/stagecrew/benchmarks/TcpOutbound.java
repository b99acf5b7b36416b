package org.stagecrew.benchmarks;

import static org.stagecrew.benchmarks.TcpNettyEndpoint.ENCODER;
import static org.stagecrew.benchmarks.TcpNettyEndpoint.FLUSH_EVERY_BYTES;
import static org.stagecrew.benchmarks.TcpNettyEndpoint.FLUSH_EVERY_FRAMES;
import static org.stagecrew.benchmarks.TcpNettyEndpoint.WAIT_NANOS;
import static org.stagecrew.benchmarks.TcpNettyEndpoint.WAIT_SLICE_NANOS;
import static org.stagecrew.benchmarks.TcpNettyEndpoint.WATER_MARK;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One connection to a destination; send-side fields are used by one sender thread at a time. */
final class TcpOutbound extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(TcpOutbound.class);

    private final String destination;
    private volatile Channel channel;
    private volatile Throwable failure;
    private int unflushedFrames;
    private long unflushedBytes;

    TcpOutbound(String destination) {
        this.destination = destination;
    }

    /** Called once, by the connecting thread, before the connection is used. */
    void connected(Channel connected) {
        this.channel = connected;
    }

    void write(ByteBuf payload) {
        unflushedBytes += Integer.BYTES + payload.readableBytes();
        Channel ch = channel;
        ch.write(payload, ch.voidPromise()); // the encoder releases it, also on failure
        if (++unflushedFrames >= FLUSH_EVERY_FRAMES || unflushedBytes >= FLUSH_EVERY_BYTES || !ch.isWritable()) {
            flushNow();
        } else if (idleFlushPending.compareAndSet(false, true)) {
            // As our transport does: a batch is flushed as soon as the sender pauses, never held back.
            ch.eventLoop().execute(idleFlush);
        }
    }

    private final AtomicBoolean idleFlushPending = new AtomicBoolean();
    private final Runnable idleFlush = () -> {
        idleFlushPending.set(false);
        Channel ch = channel;
        if (ch != null) {
            ch.flush();
        }
    };

    void awaitWritable() throws IOException, InterruptedException {
        Channel ch = channel;
        if (ch.isWritable()) {
            return;
        }
        flushNow();
        long deadline = System.nanoTime() + WAIT_NANOS;
        synchronized (this) {
            while (!ch.isWritable()) {
                if (!ch.isActive()) {
                    throw closed();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("send to " + destination + " failed: the connection stayed over its "
                            + WATER_MARK.high() + "-byte high water mark for " + TimeUnit.NANOSECONDS.toSeconds(WAIT_NANOS) + " s");
                }
                TimeUnit.NANOSECONDS.timedWait(this, Math.min(left, WAIT_SLICE_NANOS));
            }
        }
    }

    /**
     * Flushes, then waits until every frame written before has left for the socket: an empty
     * buffer written below the encoder (so it is no frame) completes its promise only after them.
     */
    void flushAndWait(long deadline) throws IOException, InterruptedException {
        unflushedFrames = 0;
        unflushedBytes = 0;
        ChannelHandlerContext encoder = channel.pipeline().context(ENCODER);
        if (encoder == null) {
            throw closed();
        }
        ChannelFuture barrier = encoder.writeAndFlush(Unpooled.EMPTY_BUFFER);
        if (!barrier.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            throw new IOException("flush to " + destination + " failed: not written within "
                    + TimeUnit.NANOSECONDS.toSeconds(WAIT_NANOS) + " s");
        }
        if (!barrier.isSuccess()) {
            throw new IOException("flush to " + destination + " failed: " + barrier.cause(), barrier.cause());
        }
    }

    private void flushNow() {
        unflushedFrames = 0;
        unflushedBytes = 0;
        channel.flush();
    }

    private IOException closed() {
        Throwable cause = failure;
        return new IOException("send to " + destination + " failed: the connection is closed"
                + (cause == null ? "" : " (" + cause.getMessage() + ")"), cause);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        synchronized (this) {
            notifyAll();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        synchronized (this) {
            notifyAll();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (failure == null) {
            failure = cause;
            LOG.warn("closing connection to {}: {}", destination, cause.toString());
        }
        ctx.close();
    }
}
