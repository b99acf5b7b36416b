package org.stagecrew.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.Future;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;

/**
 * The Netty {@link Transport}: its event loops ({@link TransportLoops}: by default one loop of the
 * JVM-wide shared group), and the parts that use them. {@link SendSide}
 * takes frames from senders and holds the cache of {@link OutboundConnection}s; {@link
 * InboundSide} listens on the socket file and feeds the {@link Inbox}, which consumers drain
 * through {@link FrameConsumer}. This class opens the transport, answers the API, and runs the
 * close sequence: stop accepting, tell the senders connected here, fail what our own connections
 * still queue, close the inbox, and stop the event loops if they are the transport's own.
 */
final class NettyTransport implements Transport, FrameSignals {
    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
    /**
     * {@code SO_SNDBUF} of our connections and {@code SO_RCVBUF} of accepted ones: 256 KiB (Linux doubles
     * it, and caps it at {@code net.core.wmem_max}). The bytes a connection holds in the kernel are then
     * few enough to still be in the CPU's cache when the other side copies them out: on the 2-vCPU
     * machine, against 1 MiB, alternated runs of the benchmark jar moved 64 B frames 10 % faster, 1 KiB
     * 12 %, 64 KiB 10 %, 1 MiB 4 %, 16 KiB and ping-pong latency the same; 128 KiB was no better.
     */
    static final int SOCKET_BUFFER_SIZE = 256 * 1024;
    static final long CLOSE_TIMEOUT_MILLIS = 5_000;

    private final TransportConfig config;
    private final IoBackend backend;
    private final Address address;
    private final EventLoopGroup group;
    private final TransportLoops loops;
    private final Bootstrap clientTemplate;
    private final SendSide sends;
    private final SendSideClose closer;
    private final InboundSide inboundSide;
    private final Inbox inbox;
    private final Admission admission;
    private final FrameConsumer consumer;
    private final TransportCounters counters;
    private final Discards discards;
    private volatile boolean open = true;
    /** Set once closeGracefully began: it runs at most once. Guarded by this. */
    private boolean draining;

    private NettyTransport(TransportConfig config, IoBackend backend, Address address, TransportLoops loops,
            AddressLock addressLock, CounterMemory counterMemory) {
        this.counters = new TransportCounters(counterMemory);
        this.discards = new Discards(counters);
        this.config = config;
        this.backend = backend;
        this.address = address;
        this.loops = loops;
        this.group = loops.group;
        long inboxBytes = config.inboxCapacityBytes() > 0 ? config.inboxCapacityBytes() : TransportConfig.defaultInboxCapacityBytes();
        this.inbox = new Inbox(address, config.inboxCapacityFrames(), inboxBytes, discards);
        this.inboundSide = new InboundSide(address, backend, addressLock, inbox);
        this.sends = new SendSide(this, group);
        this.closer = new SendSideClose(sends, address, group);
        this.admission = new Admission(backend, config.peerPolicy(), config.maxConnections(), counters);
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
        TransportLoops loops = null;
        try {
            if (addressLock != null) {
                addressLock.clearStale();
            }
            loops = TransportLoops.of(config, backend, address, name, ioHandlers);
            NettyTransport transport = new NettyTransport(config, backend, address, loops, addressLock,
                    CounterMemory.forAddress(address, addressLock != null));
            transport.inboundSide.bind(loops.group, config, transport.admission, transport.discards);
            LOG.debug("opened transport {} ({}, {} event loops)", address, backend.mode(), loops.owned ? "private" : "shared");
            return transport;
        } catch (RuntimeException e) {
            if (loops != null && loops.owned) {
                loops.group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS);
            }
            if (addressLock != null) {
                addressLock.close();
            }
            throw e;
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
        return sends.send(destination, payload);
    }

    @Override
    public void send(Address destination, ByteBuf payload, Duration timeout) {
        Objects.requireNonNull(payload, "payload");
        sends.send(destination, payload, payload.readerIndex(), payload.readableBytes(), timeout, true);
    }

    @Override
    public void send(Address destination, ByteBuf source, int index, int length, Duration timeout) {
        Objects.requireNonNull(source, "source");
        SendSide.checkRange(source, index, length);
        sends.send(destination, source, index, length, timeout, false);
    }

    @Override
    public OfferResult offer(Address destination, ByteBuf payload) {
        Objects.requireNonNull(payload, "payload");
        return sends.offer(destination, payload, payload.readerIndex(), payload.readableBytes(), true);
    }

    @Override
    public OfferResult offer(Address destination, ByteBuf source, int index, int length) {
        Objects.requireNonNull(source, "source");
        SendSide.checkRange(source, index, length);
        return sends.offer(destination, source, index, length, false);
    }

    @Override
    public boolean flush(Duration timeout) {
        long deadline = System.nanoTime() + Objects.requireNonNull(timeout, "timeout").toNanos();
        return sends.awaitFlushed(deadline);
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
        Map<Address, Long> discarded = discards.snapshot();
        TransportStats live = counters.snapshot(discarded);
        return new TransportStats(connections.connectionsAccepted(), connections.connectionsRejected(), connections.protocolErrors(),
                discarded, live.totals(), live.peers());
    }

    /** The live counters, which the connections and pipelines update. */
    TransportCounters counters() {
        return counters;
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
        return inboundSide.connections();
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
        inboundSide.stopAccepting(false);
        List<ChannelFuture> senders = inboundSide.askSendersToStop();
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
        inboundSide.stopAccepting(onOwnLoop);
        inboundSide.closeInbound(onOwnLoop);
        List<Future<?>> failing = closer.failAll();
        inbox.close();
        consumer.releaseAfterClose();
        closer.awaitClosed(loops, onOwnLoop, failing);
        sends.clear();
        discards.log(LOG, address);
        LOG.debug("closed transport {}", address);
    }

    /** Whether the caller is an event loop of our group (for a shared or given loop, any loop of its group). */
    private boolean isOwnEventLoop() {
        return loops.isCurrentThreadOurs();
    }

    // ---- package-private hooks for the connection and pipeline classes ----

    ChannelFuture connect(Address destination, EventLoop loop, NoticeDecoder.Listener connection) {
        ChannelFuture connecting = clientTemplate.clone(loop)
                .handler(new NoticeDecoder(connection, address, destination))
                .connect(backend.socketAddress(destination));
        sends.track(connecting.channel());
        return connecting;
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
        return sends.connectionTo(destination);
    }

    /** For tests: the acknowledged sends (null in the default delivery), and the listening side. */
    AckedSends ackedSends() {
        return sends.acknowledged();
    }

    InboundSide inbound() {
        return inboundSide;
    }

    void forget(OutboundConnection connection) {
        sends.forget(connection);
    }

    /** See {@link SendSide#settleAfterFailure}. */
    void settleAfterFailure(OutboundConnection connection) {
        sends.settleAfterFailure(connection);
    }

    void undeliverable(Address destination, int frames, TransportException cause) {
        try {
            config.undeliverableHandler().onUndeliverable(destination, frames, cause);
        } catch (RuntimeException e) {
            LOG.warn("undeliverable-frame handler of {} threw while reporting {} frame(s) to {}", address, frames,
                    Failures.describe(destination), e);
        }
    }

    /** See {@link SendSideClose#sweep}. */
    Future<?> sweepAfterClose(OutboundConnection connection) {
        return closer.sweep(connection);
    }

    @Override
    public String toString() {
        return "Transport{" + address + ", " + backend.mode() + (open ? "" : ", closed") + '}';
    }
}
