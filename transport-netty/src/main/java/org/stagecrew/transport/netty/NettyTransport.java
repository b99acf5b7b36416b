package org.stagecrew.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannelRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * The Netty {@link Transport}: one event loop group, a listening channel on the socket file, a
 * cache of {@link OutboundConnection}s and an {@link Inbox} that consumers drain through
 * {@link FrameConsumer}.
 */
final class NettyTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
    private static final int SOCKET_BUFFER_SIZE = 1024 * 1024;
    private static final long CLOSE_TIMEOUT_MILLIS = 5_000;
    private static final long FLUSH_POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

    private final TransportConfig config;
    private final IoBackend backend;
    private final Address address;
    /** The ownership of the socket file, given up on close; null for LOCAL mode and abstract names. */
    private final AddressLock addressLock;
    private final EventLoopGroup group;
    private final Bootstrap clientTemplate;
    private final ConcurrentHashMap<Address, OutboundConnection> connections = new ConcurrentHashMap<>();
    private final Set<Channel> inbound = ConcurrentHashMap.newKeySet();
    private final Inbox inbox;
    private final Admission admission;
    private final FrameConsumer consumer;
    private volatile boolean open = true;
    /** The connection of the latest send, for the next send to the same Address object. */
    private volatile OutboundConnection lastConnection;
    private Channel serverChannel;

    private NettyTransport(TransportConfig config, IoBackend backend, Address address, EventLoopGroup group,
            AddressLock addressLock) {
        this.config = config;
        this.backend = backend;
        this.address = address;
        this.addressLock = addressLock;
        this.group = group;
        this.inbox = new Inbox(address, config.inboxCapacityFrames(), config.inboxCapacityBytes());
        this.admission = new Admission(backend, config.peerPolicy(), config.maxConnections());
        this.consumer = new FrameConsumer(this, inbox);
        WriteBufferWaterMark waterMark =
                new WriteBufferWaterMark(config.writeBufferLowWaterMark(), config.writeBufferHighWaterMark());
        this.clientTemplate = new Bootstrap()
                .channel(backend.channelType())
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, waterMark)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis()));
        if (backend != IoBackend.LOCAL) { // in-JVM channels have no socket buffers
            clientTemplate.option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_SIZE);
        }
    }

    /** Binds the socket file and starts serving; on any failure, everything created is released. */
    static NettyTransport open(TransportConfig config) {
        Objects.requireNonNull(config, "config");
        IoBackend backend = IoBackend.forMode(config.ioMode());
        Path directory = config.socketDirectory().toAbsolutePath().normalize();
        String name = config.fileName() != null ? config.fileName() : SocketFiles.uniqueName(config.fileNamePrefix());
        // Address checks sun_path, and socketAddress an abstract name against the mode, before touching the disk.
        Address address = config.usesAbstractNamespace() ? Address.abstractName(name) : Address.of(directory.resolve(name));
        backend.socketAddress(address);
        IoHandlerFactory ioHandlers = backend == IoBackend.LOCAL && !config.busyPoll() ? null
                : backend.newIoHandlerFactory(config.busyPoll()); // fails here for a mode that cannot busy-poll
        // One owner per socket file: probe, unlink and bind happen under the address lock, held until close.
        // An abstract name needs none (the kernel refuses a second bind), nor does LOCAL (its registry does).
        AddressLock addressLock = null;
        if (backend.mode().usesSocketFiles() && !address.isAbstract()) {
            SocketFiles.prepareDirectory(directory);
            addressLock = AddressLock.acquire(address.toPath());
        }
        EventLoopGroup group = null;
        try {
            if (addressLock != null) {
                addressLock.clearStale();
            }
            group = backend == IoBackend.LOCAL ? LocalLoop.shared() : new MultiThreadIoEventLoopGroup(config.ioThreads(),
                    new DefaultThreadFactory("stagecrew-io-" + name, true), ioHandlers);
            NettyTransport transport = new NettyTransport(config, backend, address, group, addressLock);
            transport.bind();
            LOG.debug("opened transport {} ({})", address, backend.mode());
            return transport;
        } catch (RuntimeException e) {
            if (group != null && group != LocalLoop.shared()) {
                group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS);
            }
            if (addressLock != null) {
                addressLock.close();
            }
            throw e;
        }
    }

    private void bind() {
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(backend.serverChannelType())
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(4096, 64 * 1024, 256 * 1024))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        inbound.add(ch);
                        ch.closeFuture().addListener(f -> inbound.remove(ch));
                        ch.pipeline().addLast("hello", HelloHandler.forInbox(address, inbox, config.eventLoopHandler(), config.maxFrameLength(),
                                config.helloTimeout().toNanos(), admission));
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

    @Override
    public Address address() {
        return address;
    }

    @Override
    public TransportConfig config() {
        return config;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public CompletableFuture<Void> send(Address destination, ByteBuf payload) {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(payload, "payload");
        TransportException refused = refusal(destination, payload.readableBytes());
        OutboundConnection connection = refused == null ? connectionFor(destination) : null;
        if (connection != null && connection.isBackPressured()) {
            refused = new BackPressureException("send to " + destination + " failed: " + connection.queuedBytes()
                    + " bytes are queued, above writeBufferHighWaterMark " + config.writeBufferHighWaterMark()
                    + "; wait for earlier futures or use the blocking send");
        }
        if (refused != null) {
            payload.release();
            return CompletableFuture.failedFuture(refused);
        }
        CompletableFuture<Void> future = new CompletableFuture<>();
        connection.enqueue(new OutboundConnection.PendingSend(payload, future), payload.readableBytes());
        return future;
    }

    @Override
    public void send(Address destination, ByteBuf payload, Duration timeout) {
        Objects.requireNonNull(payload, "payload");
        send(destination, payload, payload.readerIndex(), payload.readableBytes(), timeout, true);
    }

    @Override
    public void send(Address destination, ByteBuf source, int index, int length, Duration timeout) {
        Objects.requireNonNull(source, "source");
        checkRange(source, index, length);
        send(destination, source, index, length, timeout, false);
    }

    private void send(Address destination, ByteBuf source, int index, int length, Duration timeout, boolean owned) {
        boolean queued = false;
        try {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(timeout, "timeout");
            long deadline = 0; // read the clock only when there is no room: it costs more than a send
            boolean waiting = false;
            while (true) {
                TransportException refused = refusal(destination, length);
                if (refused != null) {
                    throw refused;
                }
                OutboundConnection connection = connectionFor(destination);
                if (!connection.isBackPressured() && queue(connection, source, index, length, owned)) {
                    queued = true;
                    return;
                }
                if (!waiting) {
                    waiting = true;
                    deadline = System.nanoTime() + timeout.toNanos();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TransportTimeoutException("send to " + destination + " timed out after " + timeout.toMillis()
                            + " ms: " + connection.queuedBytes() + " bytes are queued, above writeBufferHighWaterMark "
                            + config.writeBufferHighWaterMark() + "; the receiver is not keeping up");
                }
                connection.awaitRoom(left);
            }
        } finally {
            if (owned && !queued) {
                source.release();
            }
        }
    }

    @Override
    public OfferResult offer(Address destination, ByteBuf payload) {
        Objects.requireNonNull(payload, "payload");
        return offer(destination, payload, payload.readerIndex(), payload.readableBytes(), true);
    }

    @Override
    public OfferResult offer(Address destination, ByteBuf source, int index, int length) {
        Objects.requireNonNull(source, "source");
        checkRange(source, index, length);
        return offer(destination, source, index, length, false);
    }

    private OfferResult offer(Address destination, ByteBuf source, int index, int length, boolean owned) {
        Objects.requireNonNull(destination, "destination");
        if (!open) {
            return OfferResult.CLOSED;
        }
        TransportException refused = refusal(destination, length);
        if (refused != null) {
            if (owned) {
                source.release();
            }
            throw refused;
        }
        OutboundConnection connection = connectionFor(destination);
        if (connection.isBackPressured() || !queue(connection, source, index, length, owned)) {
            return OfferResult.BACK_PRESSURED;
        }
        return OfferResult.ACCEPTED;
    }

    private static void checkRange(ByteBuf source, int index, int length) {
        if (index < 0 || length < 0 || index > source.capacity() - length) {
            throw new IndexOutOfBoundsException("frame of " + length + " bytes at index " + index
                    + " does not lie within the source buffer's capacity " + source.capacity());
        }
    }

    /**
     * Queues a frame: a small one as a copy in the calling thread's segment (an owned source is
     * released once copied); a larger one as it is if owned, else as a pooled copy. Returns false,
     * queuing nothing, if there was no room for a new segment.
     */
    private static boolean queue(OutboundConnection connection, ByteBuf source, int index, int length, boolean owned) {
        if (length <= connection.appendLimit()) {
            if (!connection.append(source, index, length)) {
                return false;
            }
            if (owned) {
                source.release();
            }
            return true;
        }
        ByteBuf frame = source;
        if (!owned) {
            frame = PooledByteBufAllocator.DEFAULT.directBuffer(length, length);
            frame.writeBytes(source, index, length);
        }
        connection.enqueue(frame, length);
        return true;
    }

    /** Why a frame cannot be sent at all, or null. */
    private TransportException refusal(Address destination, int length) {
        if (!open) {
            return new TransportClosedException("send to " + destination + " failed: transport " + address + " is closed");
        }
        if (length > config.maxFrameLength()) {
            return new FrameTooLargeException(destination, length, config.maxFrameLength());
        }
        return null;
    }

    private OutboundConnection connectionFor(Address destination) {
        // Most senders talk to one destination at a time: skip the map for it.
        OutboundConnection last = lastConnection;
        if (last != null && last.destination() == destination && last.failure() == null) {
            return last;
        }
        OutboundConnection connection = connections.get(destination);
        if (connection == null) {
            OutboundConnection fresh = new OutboundConnection(this, destination, group.next());
            connection = connections.putIfAbsent(destination, fresh);
            if (connection == null) {
                connection = fresh;
                fresh.connect();
            }
        }
        lastConnection = connection;
        return connection;
    }

    @Override
    public boolean flush(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (OutboundConnection connection : connections.values()) {
            while (!connection.isFlushed()) {
                if (System.nanoTime() - deadline > 0) {
                    return false;
                }
                LockSupport.parkNanos(FLUSH_POLL_NANOS);
            }
        }
        return true;
    }

    @Override
    public Frame receive(Duration timeout) {
        requireInbox("receive");
        return consumer.receive(Objects.requireNonNull(timeout, "timeout"));
    }

    @Override
    public int poll(FrameHandler handler, int limit) {
        requireInbox("poll");
        return consumer.poll(Objects.requireNonNull(handler, "handler"), limit, null);
    }

    @Override
    public int poll(FrameHandler handler, int limit, Duration timeout) {
        requireInbox("poll");
        return consumer.poll(Objects.requireNonNull(handler, "handler"), limit, Objects.requireNonNull(timeout, "timeout"));
    }

    private void requireInbox(String operation) {
        if (config.eventLoopHandler() != null) {
            throw new IllegalStateException(operation + " on " + address + " gets no frames: this transport hands every frame to"
                    + " its TransportConfig.eventLoopHandler on the event loop");
        }
    }

    @Override
    public TransportStats stats() {
        return admission.stats();
    }

    @Override
    public boolean hasFrames() {
        return consumer.hasFrames();
    }

    @Override
    public void onFramesAvailable(Runnable listener) {
        inbox.listener(listener);
    }

    @Override
    public void close() {
        if (!open) {
            return;
        }
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
        }
        // On one of our own event loops we must not wait for that loop: close without waiting.
        boolean onOwnLoop = isOwnEventLoop();
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
        closeInbound(onOwnLoop);
        List<Future<?>> failing = new ArrayList<>();
        for (OutboundConnection connection : connections.values()) {
            failing.add(sweepAfterClose(connection));
        }
        inbox.close();
        consumer.releaseAfterClose();
        if (group == LocalLoop.shared()) {
            // The shared in-JVM loop outlives us: wait for our connections to be failed and closed on it.
            for (Future<?> f : failing) {
                if (!onOwnLoop && f != null) {
                    f.awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS);
                }
            }
        } else {
            Future<?> terminated = group.shutdownGracefully(0, CLOSE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            if (!onOwnLoop && !terminated.awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS)) {
                LOG.warn("event loop of {} did not stop within {} ms", address, CLOSE_TIMEOUT_MILLIS);
            }
            for (OutboundConnection connection : connections.values()) {
                sweepAfterClose(connection);
            }
        }
        connections.clear();
        LOG.debug("closed transport {}", address);
    }

    /** Unlinks the socket file and gives up the address, unless the server channel is still closing. */
    private void releaseAddress() {
        if (addressLock != null && (serverChannel == null || serverChannel.closeFuture().isDone())) {
            addressLock.close();
        }
    }

    /** Tells every connected sender that we are closing, so its pending sends fail with that reason. */
    private void closeInbound(boolean onOwnLoop) {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel ch : inbound) {
            ch.writeAndFlush(Protocol.encodeNotice(ch.alloc(), Protocol.SHUTTING_DOWN, "transport " + address + " is closing"))
                    .addListener(ChannelFutureListener.CLOSE);
            closing.add(ch.closeFuture());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_TIMEOUT_MILLIS);
        for (ChannelFuture f : closing) {
            if (!onOwnLoop && !f.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                LOG.warn("inbound connection {} of {} did not close within {} ms", f.channel(), address, CLOSE_TIMEOUT_MILLIS);
                f.channel().close();
            }
        }
    }

    private boolean isOwnEventLoop() {
        for (EventExecutor loop : group) {
            if (loop.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    // ---- package-private hooks for the connection and pipeline classes ----

    ChannelFuture connect(Address destination, EventLoop loop, OutboundConnection connection) {
        return clientTemplate.clone(loop)
                .handler(new NoticeDecoder(connection, address, destination))
                .connect(backend.socketAddress(destination));
    }

    /** The inbox of the LOCAL transport bound at {@code destination}, or null. */
    Inbox localInbox(Address destination) {
        return backend == IoBackend.LOCAL ? LocalLoop.inbox(destination) : null;
    }

    /** Whether {@code destination} is a socket file in this transport's mode (not LOCAL, not abstract). */
    boolean usesFiles(Address destination) {
        return backend.mode().usesSocketFiles() && !destination.isAbstract();
    }

    void forget(OutboundConnection connection) {
        connections.remove(connection.destination(), connection);
    }

    void undeliverable(Address destination, int frames, TransportException cause) {
        try {
            config.undeliverableHandler().onUndeliverable(destination, frames, cause);
        } catch (RuntimeException e) {
            LOG.warn("undeliverable-frame handler of {} threw while reporting {} frame(s) to {}", address, frames, destination, e);
        }
    }

    /**
     * Fails what a connection still queues once the transport is closed: on its event loop while
     * that runs, otherwise after the loop has terminated, so that the queue never has two consumers.
     */
    Future<?> sweepAfterClose(OutboundConnection connection) {
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


    @Override
    public String toString() {
        return "Transport{" + address + ", " + backend.mode() + (open ? "" : ", closed") + '}';
    }
}
