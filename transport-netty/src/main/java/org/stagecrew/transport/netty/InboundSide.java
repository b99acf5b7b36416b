package org.stagecrew.transport.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannelRecvByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * The listening side of a {@link NettyTransport}: the server channel bound at the transport's
 * address, the connections it accepted (each a {@link HelloHandler}, then a {@link
 * FrameBatchDecoder} feeding the {@link Inbox}), the ownership of the socket file, and the steps of
 * a close that concern them: stop accepting and give the address up, tell every sender that we are
 * shutting down, and read on until they hang up.
 *
 * <p>Bound by the thread that opens the transport; closed by the thread that closes it (or, for the
 * parts that must run there, on each channel's event loop). Thread-safe.
 */
final class InboundSide {
    private static final Logger LOG = LoggerFactory.getLogger(InboundSide.class);
    private static final int SOCKET_BUFFER_SIZE = NettyTransport.SOCKET_BUFFER_SIZE;
    private static final long CLOSE_TIMEOUT_MILLIS = NettyTransport.CLOSE_TIMEOUT_MILLIS;
    /** How long close() reads on after SHUTTING_DOWN, counting what the senders had written, until they hang up. */
    private static final long DISCARD_DRAIN_MILLIS = 1_000;

    private final Address address;
    private final IoBackend backend;
    /** The ownership of the socket file, given up on close; null for LOCAL mode and abstract names. */
    private final AddressLock addressLock;
    private final Inbox inbox;
    private final Set<Channel> inbound = ConcurrentHashMap.newKeySet();
    /** The bytes of read buffers that the inbound connections keep for reuse (see {@link ReadBuffers}). */
    private final AtomicLong keptReadBytes = new AtomicLong();
    private Channel serverChannel;
    /** Guarded by this. */
    private boolean stoppedAccepting;

    InboundSide(Address address, IoBackend backend, AddressLock addressLock, Inbox inbox) {
        this.address = address;
        this.backend = backend;
        this.addressLock = addressLock;
        this.inbox = inbox;
    }

    /** Binds the listening channel and starts accepting; throws, having released nothing, on failure. */
    void bind(EventLoopGroup group, TransportConfig config, Admission admission, Discards discards) {
        AckStreams streams = new AckStreams(discards);
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(backend.serverChannelType())
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR, ReadBuffers.sizes())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        inbound.add(ch);
                        if (backend.readsOneBufferAtATime()) {
                            ReadBuffers reads = new ReadBuffers(keptReadBytes, ReadBuffers.KEPT_BYTES_PER_TRANSPORT); // carries a cut frame into the next read, keeps large buffers
                            ch.config().setRecvByteBufAllocator(reads);
                            ch.closeFuture().addListener(f -> reads.releaseKept()); // also if the decoder never came
                        }
                        ch.closeFuture().addListener(f -> inbound.remove(ch));
                        ch.pipeline().addLast("hello", HelloHandler.forInbox(address, inbox, config.eventLoopHandler(), config.maxFrameLength(),
                                config.helloTimeout().toNanos(), admission, discards, streams));
                    }
                });
        if (backend != IoBackend.LOCAL) {
            server.childOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_SIZE);
        } else {
            // An in-JVM channel queues its peer's writes without bound and by default hands on one of them per read:
            // a fast sender would outrun it while our inbox still had room. Hand on all that is queued, so that the
            // inbox counts it at once and a full inbox stops the sender within one of its drain passes; and never
            // coalesce messages into a copy (the read size guess stays at 128 bytes).
            server.childOption(ChannelOption.RECVBUF_ALLOCATOR,
                    new ServerChannelRecvByteBufAllocator().respectMaybeMoreData(false).maxMessagesPerRead(Integer.MAX_VALUE));
        }
        ChannelFuture bound = server.bind(backend.socketAddress(address));
        if (!bound.awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS)) {
            bound.channel().close();
            throw new TransportTimeoutException("bind failed for " + address + ": no answer within " + CLOSE_TIMEOUT_MILLIS + " ms");
        }
        if (!bound.isSuccess()) {
            throw Failures.bindFailed(address, backend == IoBackend.LOCAL, bound.cause());
        }
        serverChannel = bound.channel();
        if (backend == IoBackend.LOCAL) {
            LocalLoop.register(address, inbox);
        }
        if (addressLock != null) {
            addressLock.bound(); // from here on the file at the path is ours to unlink, on close or at exit
            SocketFiles.restrictPermissions(addressLock.socketFile());
        }
    }

    /** Closes every accepted connection without a notice, as a dropped connection would end; for tests. */
    void dropConnections() {
        for (Channel ch : inbound) {
            ch.close();
        }
    }

    /** Inbound connections still open. */
    int connections() {
        return inbound.size();
    }

    /**
     * Closes the listening channel, so that no new connection is accepted, then unlinks the socket
     * file and gives up the address lock (see {@link AddressLock}); once only.
     */
    synchronized void stopAccepting(boolean onOwnLoop) {
        if (stoppedAccepting) {
            return;
        }
        stoppedAccepting = true;
        if (serverChannel != null) {
            ChannelFuture closed = serverChannel.close();
            if (onOwnLoop || !closed.awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS)) {
                // Netty's native server channels unlink their socket path as they close: hold the address until
                // then, or that unlink could remove the socket file of the next owner.
                closed.addListener(f -> releaseAddress());
            }
        }
        releaseAddress();
        if (backend == IoBackend.LOCAL) {
            LocalLoop.unregister(address, inbox);
        }
    }

    /** Unlinks the socket file and gives up the address, unless the server channel is still closing. */
    private void releaseAddress() {
        if (addressLock != null && (serverChannel == null || serverChannel.closeFuture().isDone())) {
            addressLock.close();
        }
    }

    /** A SHUTTING_DOWN notice in the version of the connection's protocol. Event loop of {@code ch}. */
    private static ByteBuf shuttingDown(Channel ch, String reason) {
        FrameBatchDecoder decoder = ch.pipeline().get(FrameBatchDecoder.class);
        int version = ch.pipeline().get(ControlResponder.class) != null ? Protocol.VERSION_2
                : decoder != null ? decoder.version() : Protocol.VERSION;
        return Protocol.encodeNotice(ch.alloc(), version, Protocol.SHUTTING_DOWN, reason);
    }

    /**
     * For an orderly shutdown: tells every connected sender that we are shutting down (one still in
     * its hello, which has sent no frame, is closed), so that it stops sending and hangs up once its
     * frames are written; returns the futures of their hang-ups.
     */
    List<ChannelFuture> askSendersToStop() {
        List<ChannelFuture> senders = new ArrayList<>();
        for (Channel ch : inbound) {
            senders.add(ch.closeFuture());
            try {
                ch.eventLoop().execute(() -> {
                    if (ch.pipeline().get(ControlResponder.class) != null) {
                        // A watcher's control connection: the notice tells it this is an orderly close, not a death.
                        ch.writeAndFlush(Protocol.encodeNotice(ch.alloc(), Protocol.VERSION_2, Protocol.SHUTTING_DOWN, "transport "
                                + address + " is shutting down")).addListener(ChannelFutureListener.CLOSE);
                    } else if (ch.pipeline().get(FrameBatchDecoder.class) == null) {
                        ch.close(); // still in its hello: it has sent no frame
                    } else {
                        ch.writeAndFlush(shuttingDown(ch, "transport " + address + " is shutting down"));
                    }
                });
            } catch (RejectedExecutionException e) {
                // a concurrent close() has stopped the event loop, and closed the connection with it
            }
        }
        return senders;
    }

    /**
     * Tells every connected sender that we are closing, so that its pending sends fail with that
     * reason and it hangs up; meanwhile reads on, counting (not delivering) the frames it had written,
     * until it hangs up or {@value #DISCARD_DRAIN_MILLIS} ms have passed. On our own event loop we
     * cannot wait for it: the connections are closed at once and what their sockets still hold is
     * not counted.
     */
    void closeInbound(boolean onOwnLoop) {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel ch : inbound) {
            closing.add(ch.closeFuture());
            Runnable notify = () -> {
                ChannelFuture notice = ch.writeAndFlush(shuttingDown(ch, "transport " + address + " is closing"));
                if (onOwnLoop || ch.pipeline().get(FrameBatchDecoder.class) == null) {
                    notice.addListener(ChannelFutureListener.CLOSE); // cannot wait, or still in its hello: no frames yet
                } else {
                    ch.config().setAutoRead(true); // a paused connection (full inbox) must be read on to count what it carries
                }
            };
            if (ch.eventLoop().inEventLoop()) {
                notify.run();
            } else {
                ch.eventLoop().execute(notify);
            }
        }
        if (onOwnLoop) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DISCARD_DRAIN_MILLIS);
        for (ChannelFuture f : closing) {
            if (!f.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                FrameBatchDecoder frames = f.channel().pipeline().get(FrameBatchDecoder.class);
                LOG.warn("sender {} to {} did not hang up within {} ms of SHUTTING_DOWN; closing it, and the frames"
                        + " still in its socket are not counted as discarded", frames != null ? frames.peer() : f.channel(), address,
                        DISCARD_DRAIN_MILLIS);
                f.channel().close().awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS);
            }
        }
    }
}
