package org.stagecrew.benchmarks;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.netty.FrameCodec;

/**
 * Our pipeline over TCP loopback: the "before" of a Netty service that moves to Unix Domain
 * Sockets. The same {@link FrameCodec} handlers (hello, decoder, encoder) as a UDS service would use,
 * on epoll TCP channels where available, else NIO; one event loop thread; pooled buffers;
 * {@code TCP_NODELAY}.
 *
 * <p>Receiving: each decoded frame (a retained slice) goes into an inbox that {@link #poll} drains.
 * When the inbox reaches {@value #INBOX_HIGH_MARK} frames or {@value #INBOX_HIGH_MARK_BYTES} bytes,
 * the connection that fed it stops reading (autoRead off); {@code poll} turns reading back on once
 * the inbox is down to half of both, so a slow consumer slows the sender down through TCP's flow
 * control. (A read already under way finishes, so the inbox may pass its marks by one read.)
 *
 * <p>Sending: one connection per destination, connected at the first send. Each {@link #send} is one
 * {@code write} with the void promise (one event-loop task per frame); a flush follows every
 * {@value #FLUSH_EVERY_FRAMES} frames or {@value #FLUSH_EVERY_BYTES} bytes, when the connection
 * turns unwritable, and in {@link #flush()}. While the connection is over its 4 MiB high water mark,
 * the sender waits (up to 30 s) until it is below the 1 MiB low mark.
 */
final class TcpNettyEndpoint implements Endpoint {
    private static final Logger LOG = LoggerFactory.getLogger(TcpNettyEndpoint.class);

    static final int MAX_FRAME_LENGTH = TransportConfig.DEFAULT_MAX_FRAME_LENGTH;
    static final int INBOX_HIGH_MARK = TransportConfig.DEFAULT_INBOX_CAPACITY_FRAMES;
    static final int INBOX_LOW_MARK = INBOX_HIGH_MARK / 2;
    static final long INBOX_HIGH_MARK_BYTES = TransportConfig.defaultInboxCapacityBytes();
    static final long INBOX_LOW_MARK_BYTES = INBOX_HIGH_MARK_BYTES / 2;
    static final int FLUSH_EVERY_FRAMES = 128;
    static final int FLUSH_EVERY_BYTES = 64 * 1024;

    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(1024 * 1024, 4 * 1024 * 1024);
    private static final String HOST = "127.0.0.1";
    static final String ENCODER = "encoder";
    static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);
    static final long WAIT_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final Duration HELLO_TIMEOUT = TransportConfig.DEFAULT_HELLO_TIMEOUT;
    /** The hello handler wants a listening address for its log messages; TCP has no socket file. */
    private static final Address LISTENER_NAME = Address.of("tcp-loopback");

    private final EventLoopGroup group;
    private final boolean epoll;
    private final Channel server;
    private final String address;
    private final Address self;
    private final LinkedBlockingQueue<ByteBuf> inbox = new LinkedBlockingQueue<>();
    private final AtomicLong inboxBytes = new AtomicLong();
    private final Queue<Inbound> paused = new ConcurrentLinkedQueue<>();
    private final Map<String, TcpOutbound> outbound = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private TcpNettyEndpoint(EventLoopGroup group, boolean epoll) throws InterruptedException {
        this.group = group;
        this.epoll = epoll;
        Class<? extends ServerChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ChannelFuture bound = new ServerBootstrap().group(group).channel(serverType)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(FrameCodec.listenerHello(LISTENER_NAME, MAX_FRAME_LENGTH, HELLO_TIMEOUT),
                                FrameCodec.decoder(MAX_FRAME_LENGTH), new Inbound());
                    }
                })
                .bind(new InetSocketAddress(HOST, 0)).sync();
        this.server = bound.channel();
        this.address = HOST + ":" + ((InetSocketAddress) server.localAddress()).getPort();
        this.self = Address.of("tcp/" + address);
    }

    /**
     * Binds a TCP server to a free port of 127.0.0.1 ({@code socketDirectory} is not used).
     *
     * @throws IllegalStateException if the server cannot be bound
     */
    static Endpoint open(Path socketDirectory) {
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("benchmark-tcp-" + (epoll ? "epoll" : "nio"), true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        try {
            return new TcpNettyEndpoint(group, epoll);
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("bind failed for " + HOST + ":0: " + e, e);
        }
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public void send(String destination, ByteBuf payload) throws IOException, InterruptedException {
        TcpOutbound connection;
        try {
            connection = connection(destination);
            connection.awaitWritable();
        } catch (IOException | InterruptedException | RuntimeException e) {
            payload.release();
            throw e;
        }
        connection.write(payload);
    }

    @Override
    public void flush() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + WAIT_NANOS;
        for (TcpOutbound connection : outbound.values()) {
            connection.flushAndWait(deadline);
        }
    }

    @Override
    public int poll(Sink sink, int limit, long timeoutNanos) throws InterruptedException {
        int count = 0;
        ByteBuf frame = limit > 0 ? inbox.poll(timeoutNanos, TimeUnit.NANOSECONDS) : null;
        while (frame != null) {
            inboxBytes.addAndGet(-frame.readableBytes());
            try {
                sink.onFrame(frame);
            } finally {
                frame.release();
            }
            frame = ++count < limit ? inbox.poll() : null;
        }
        if (!paused.isEmpty() && inbox.size() <= INBOX_LOW_MARK && inboxBytes.get() <= INBOX_LOW_MARK_BYTES) {
            for (Inbound connection; (connection = paused.poll()) != null; ) {
                connection.resume();
            }
        }
        return count;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // Shutting the loop down closes every channel on it; their decoders and outbound buffers release their buffers.
        if (!group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS)) {
            LOG.warn("event loop of {} did not terminate within 10 s of close", address);
        }
        for (ByteBuf frame; (frame = inbox.poll()) != null; ) {
            frame.release();
        }
        paused.clear();
        outbound.clear();
    }

    private TcpOutbound connection(String destination) throws IOException, InterruptedException {
        TcpOutbound connection = outbound.get(destination);
        if (connection == null) {
            if (closed.get()) {
                throw new IOException("send to " + destination + " failed: endpoint " + address + " is closed");
            }
            connection = connect(destination);
            outbound.put(destination, connection);
        }
        return connection;
    }

    private TcpOutbound connect(String destination) throws IOException, InterruptedException {
        int colon = destination.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("destination must be host:port, was: " + destination);
        }
        TcpOutbound connection = new TcpOutbound(destination);
        Address listener = Address.of("tcp/" + destination);
        ChannelFuture connected = new Bootstrap().group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(FrameCodec.connectorHello(self, listener))
                                .addLast(ENCODER, FrameCodec.encoder())
                                .addLast(connection);
                    }
                })
                .connect(destination.substring(0, colon), Integer.parseInt(destination.substring(colon + 1)));
        if (!connected.await(TransportConfig.DEFAULT_CONNECT_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS)) {
            connected.channel().close();
            throw new IOException("connect failed for " + destination + ": no connection within "
                    + TransportConfig.DEFAULT_CONNECT_TIMEOUT.toMillis() + " ms");
        }
        if (!connected.isSuccess()) {
            throw new IOException("connect failed for " + destination + ": " + connected.cause().getMessage(), connected.cause());
        }
        connection.connected(connected.channel());
        return connection;
    }

    /** The receiving end of one accepted connection: queues frames, pauses reading when the inbox is full. */
    private final class Inbound extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        /** Event loop only. */
        private boolean isPaused;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            ByteBuf frame = (ByteBuf) msg;
            long bytes = inboxBytes.addAndGet(frame.readableBytes());
            if (!isPaused && (inbox.size() + 1 >= INBOX_HIGH_MARK || bytes >= INBOX_HIGH_MARK_BYTES)) {
                isPaused = true;
                ctx.channel().config().setAutoRead(false);
                paused.add(this); // before the frame: a consumer that takes the frame sees this connection paused
            }
            inbox.add(frame);
        }

        /** Called by the consumer; the flag and autoRead change on the event loop. */
        void resume() {
            try {
                ctx.executor().execute(() -> {
                    isPaused = false;
                    ctx.channel().config().setAutoRead(true);
                });
            } catch (RejectedExecutionException e) {
                // the endpoint is closing
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.warn("closing inbound connection {} of {}: {}", ctx.channel(), address, cause.toString());
            ctx.close();
        }
    }
}
