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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameSignals;
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
final class NettyTransport implements Transport, FrameSignals {
    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
    private static final int SOCKET_BUFFER_SIZE = 1024 * 1024;
    private static final long CLOSE_TIMEOUT_MILLIS = 5_000;
    /** How long close() reads on after SHUTTING_DOWN, counting what the senders had written, until they hang up. */
    private static final long DISCARD_DRAIN_MILLIS = 1_000;

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
    private final Discards discards = new Discards();
    private volatile boolean open = true;
    /** Set once closeGracefully began: it runs at most once. Guarded by this. */
    private boolean draining;
    /** Guarded by this. */
    private boolean stoppedAccepting;
    private Channel serverChannel;

    private NettyTransport(TransportConfig config, IoBackend backend, Address address, EventLoopGroup group,
            AddressLock addressLock) {
        this.config = config;
        this.backend = backend;
        this.address = address;
        this.addressLock = addressLock;
        this.group = group;
        this.inbox = new Inbox(address, config.inboxCapacityFrames(), config.inboxCapacityBytes(), discards);
        this.admission = new Admission(backend, config.peerPolicy(), config.maxConnections());
        this.consumer = new FrameConsumer(this, inbox, discards);
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
                                config.helloTimeout().toNanos(), admission, discards));
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
            try {
                frame.writeBytes(source, index, length);
            } catch (RuntimeException e) {
                frame.release(); // e.g. a released source: the copy is ours to release
                throw e;
            }
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
        // Most senders talk to one destination at a time: skip the map for it. Per thread, so no shared write per send.
        OutboundConnection recent = Appenders.recent(this, destination);
        if (recent != null) {
            return recent;
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
        Appenders.of(connection); // the calling thread's recent connection from now on
        return connection;
    }

    @Override
    public boolean flush(Duration timeout) {
        long deadline = System.nanoTime() + Objects.requireNonNull(timeout, "timeout").toNanos();
        for (OutboundConnection connection : connections.values()) {
            if (!connection.awaitFlushed(deadline)) {
                return false;
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
        TransportStats connections = admission.stats();
        return new TransportStats(connections.connectionsAccepted(), connections.connectionsRejected(), connections.protocolErrors(),
                discards.snapshot());
    }

    /** Frames in the inbox, including those of a batch a consumer walks; for tests. */
    long inboxFrames() {
        return inbox.frames();
    }

    /** Whether the inbox is at capacity; for tests. */
    boolean inboxFull() {
        return inbox.isFull();
    }

    /** Inbound connections still open; for tests. */
    int inboundConnections() {
        return inbound.size();
    }

    @Override
    public boolean hasFrames() {
        return consumer.hasFrames();
    }

    @Override
    public void onFramesAvailable(Runnable listener) {
        inbox.addListener(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public boolean removeFramesAvailableListener(Runnable listener) {
        return inbox.removeListener(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public boolean closeGracefully(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            if (!open || draining) {
                return false;
            }
            draining = true;
        }
        if (isOwnEventLoop() || consumer.isHeldByCurrentThread()) {
            // A handler would wait for itself: the inbox cannot drain while it runs.
            LOG.warn("closeGracefully on {} was called from a frame handler, which cannot wait for the inbox to drain;"
                    + " closing at once", address);
            close();
            return false;
        }
        long discardedBefore = discards.total();
        stopAccepting(false);
        List<ChannelFuture> senders = new ArrayList<>();
        for (Channel ch : inbound) {
            senders.add(ch.closeFuture());
            try {
                ch.eventLoop().execute(() -> {
                    if (ch.pipeline().get(FrameBatchDecoder.class) == null) {
                        ch.close(); // still in its hello: it has sent no frame
                    } else {
                        ch.writeAndFlush(Protocol.encodeNotice(ch.alloc(), Protocol.SHUTTING_DOWN, "transport " + address
                                + " is shutting down"));
                    }
                });
            } catch (RejectedExecutionException e) {
                // a concurrent close() has stopped the event loop, and closed the connection with it
            }
        }
        boolean hungUp = true;
        for (ChannelFuture f : senders) {
            hungUp &= f.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        boolean drained = inbox.awaitEmpty(deadline - System.nanoTime()) && hungUp;
        close();
        return drained && discards.total() == discardedBefore;
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
        // From here on, frames read from the sockets are counted as discarded instead of delivered.
        discards.startDiscarding();
        // On one of our own event loops we must not wait for that loop: close without waiting.
        boolean onOwnLoop = isOwnEventLoop();
        stopAccepting(onOwnLoop);
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
        discards.log(LOG, address);
        LOG.debug("closed transport {}", address);
    }

    /**
     * Closes the listening channel, so that no new connection is accepted, then unlinks the socket
     * file and gives up the address lock (see {@link AddressLock}); once only.
     */
    private synchronized void stopAccepting(boolean onOwnLoop) {
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

    /**
     * Tells every connected sender that we are closing, so that its pending sends fail with that
     * reason and it hangs up; meanwhile reads on, counting (not delivering) the frames it had written,
     * until it hangs up or {@value #DISCARD_DRAIN_MILLIS} ms have passed. On our own event loop we
     * cannot wait for it: the connections are closed at once and what their sockets still hold is
     * not counted.
     */
    private void closeInbound(boolean onOwnLoop) {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel ch : inbound) {
            closing.add(ch.closeFuture());
            Runnable notify = () -> {
                ChannelFuture notice = ch.writeAndFlush(Protocol.encodeNotice(ch.alloc(), Protocol.SHUTTING_DOWN,
                        "transport " + address + " is closing"));
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
                LOG.warn("sender on {} to {} did not hang up within {} ms of SHUTTING_DOWN; closing it, and the frames"
                        + " still in its socket are not counted as discarded", f.channel(), address, DISCARD_DRAIN_MILLIS);
                f.channel().close().awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS);
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

    /** The cached connection to {@code destination}, or null; for tests that look at one connection's state. */
    OutboundConnection connectionTo(Address destination) {
        return connections.get(destination);
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
