package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.TransportConfig;

/**
 * The baseline we must beat: a hand-rolled Unix Domain Socket transport in plain JDK 17, written the
 * way the original design describes it. Netty appears only at the {@link Endpoint} boundary
 * (payloads arrive and leave as {@code ByteBuf}s); no hello, only frames (a 4-byte big-endian
 * length, then the payload).
 *
 * <p>Threads (daemons, named {@code baseline-<role>-<n>}):
 * <ul>
 *   <li>listener: a {@link Selector} accepting on the socket file; hands each accepted connection to
 *       the receiver;
 *   <li>receiver: one thread for all accepted connections, with its own {@code Selector} for reads
 *       (non-blocking channels, one 64 KiB direct read buffer). It cuts the stream into frames,
 *       copies each into its own {@code byte[]} and {@code put}s it into the inbox, a
 *       {@link LinkedBlockingQueue} of {@value #INBOX_CAPACITY} frames that also holds at most
 *       {@value #INBOX_CAPACITY_BYTES} bytes of payload (so that 1 MiB frames cannot exhaust the
 *       heap, as 65,536 of them would). A full inbox blocks the
 *       receiver, so it stops reading every connection, the kernel buffers fill, and the senders'
 *       blocking writes wait: back-pressure without loss;
 *   <li>senders: the caller's thread. One blocking {@link SocketChannel} per destination, connected
 *       at the first send and cached; each frame is one gathering write of length and payload, with
 *       no batching across frames. {@link #flush()} has nothing to do.
 * </ul>
 */
final class JdkBaselineEndpoint implements Endpoint {
    private static final Logger LOG = LoggerFactory.getLogger(JdkBaselineEndpoint.class);

    /** Frames the inbox holds before the receiver blocks. */
    static final int INBOX_CAPACITY = TransportConfig.DEFAULT_INBOX_CAPACITY_FRAMES;

    /** Payload bytes the inbox holds before the receiver blocks; a frame longer than this still fits alone. */
    static final int INBOX_CAPACITY_BYTES = (int) TransportConfig.defaultInboxCapacityBytes();

    /** Bytes the receiver reads at most per {@code read} call. */
    static final int READ_BUFFER_SIZE = 64 * 1024;

    /** Longest payload accepted; a longer length closes that connection, as PROTOCOL.md says. */
    static final int MAX_FRAME_LENGTH = TransportConfig.DEFAULT_MAX_FRAME_LENGTH;

    /** Reads per connection per select round before the others get their turn (as Netty's default). */
    private static final int MAX_READS_PER_ROUND = 16;

    private static final long JOIN_MILLIS = 5_000;
    private static final byte[] EMPTY = new byte[0];
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final Path socketFile;
    private final ServerSocketChannel server;
    private final Selector acceptSelector;
    private final Selector readSelector;
    private final Thread listener;
    private final Thread receiver;
    private final Queue<SocketChannel> accepted = new ConcurrentLinkedQueue<>();
    private final BlockingQueue<byte[]> inbox = new LinkedBlockingQueue<>(INBOX_CAPACITY);
    /** Payload bytes the inbox may still take: the receiver acquires a frame's length, poll releases it. */
    private final Semaphore inboxBytes = new Semaphore(INBOX_CAPACITY_BYTES);
    private final Map<String, JdkOutbound> outbound = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private JdkBaselineEndpoint(Path socketFile, ServerSocketChannel server, Selector acceptSelector,
            Selector readSelector, int id) {
        this.socketFile = socketFile;
        this.server = server;
        this.acceptSelector = acceptSelector;
        this.readSelector = readSelector;
        this.listener = daemon(this::listen, "baseline-listener-" + id);
        this.receiver = daemon(this::receive, "baseline-receiver-" + id);
    }

    /**
     * Binds a new socket file with a unique name in {@code socketDirectory} and starts the threads.
     *
     * @throws UncheckedIOException if the socket cannot be bound, naming the path
     */
    static Endpoint open(Path socketDirectory) {
        int id = COUNTER.incrementAndGet();
        Path socketFile = socketDirectory.resolve("baseline-" + ProcessHandle.current().pid() + "-" + id + ".sock")
                .toAbsolutePath();
        ServerSocketChannel server = null;
        Selector acceptSelector = null;
        Selector readSelector = null;
        boolean bound = false;
        try {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socketFile));
            bound = true;
            server.configureBlocking(false);
            acceptSelector = Selector.open();
            server.register(acceptSelector, SelectionKey.OP_ACCEPT);
            readSelector = Selector.open();
        } catch (IOException | RuntimeException e) {
            closeQuietly(server);
            closeQuietly(acceptSelector);
            closeQuietly(readSelector);
            if (bound) {
                deleteQuietly(socketFile);
            }
            throw new UncheckedIOException(new IOException("open failed for " + socketFile + ": " + e.getMessage(), e));
        }
        JdkBaselineEndpoint endpoint = new JdkBaselineEndpoint(socketFile, server, acceptSelector, readSelector, id);
        endpoint.listener.start();
        endpoint.receiver.start();
        return endpoint;
    }

    @Override
    public String address() {
        return socketFile.toString();
    }

    @Override
    public void send(String destination, ByteBuf payload) throws IOException {
        try {
            sendCopy(destination, payload);
        } finally {
            payload.release();
        }
    }

    /** Writes the frame before returning, so the caller keeps it without a copy. */
    @Override
    public void sendCopy(String destination, ByteBuf payload) throws IOException {
        Objects.requireNonNull(destination, "destination");
        if (closed.get()) {
            throw new IOException("send to " + destination + " failed: endpoint " + socketFile + " is closed");
        }
        JdkOutbound connection = outbound.get(destination);
        if (connection == null) {
            connection = JdkOutbound.connect(destination);
            outbound.put(destination, connection);
            if (closed.get()) { // close() may have run between the check and the put
                closeQuietly(outbound.remove(destination));
                throw new IOException("send to " + destination + " failed: endpoint " + socketFile + " is closed");
            }
        }
        connection.write(payload);
    }

    @Override
    public void flush() {
        // Every send wrote its frame before returning.
    }

    @Override
    public int poll(Sink sink, int limit, long timeoutNanos) throws InterruptedException {
        if (limit <= 0) {
            return 0;
        }
        byte[] frame = inbox.poll(timeoutNanos, TimeUnit.NANOSECONDS);
        int count = 0;
        while (frame != null) {
            inboxBytes.release(permits(frame));
            ByteBuf payload = Unpooled.wrappedBuffer(frame);
            try {
                sink.onFrame(payload);
            } finally {
                payload.release();
            }
            frame = ++count < limit ? inbox.poll() : null;
        }
        return count;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        acceptSelector.wakeup();
        readSelector.wakeup();
        receiver.interrupt(); // it may be waiting for room in the inbox
        join(listener);
        join(receiver);
        for (JdkOutbound connection : outbound.values()) {
            closeQuietly(connection);
        }
        outbound.clear();
        inbox.clear();
        deleteQuietly(socketFile);
    }

    /** The listener thread: accepts connections and hands them to the receiver. */
    private void listen() {
        try {
            while (!closed.get()) {
                acceptSelector.select();
                acceptSelector.selectedKeys().clear();
                for (SocketChannel channel; (channel = server.accept()) != null; ) {
                    channel.configureBlocking(false);
                    accepted.add(channel);
                    readSelector.wakeup();
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (!closed.get()) {
                LOG.error("listener on {} failed; no more connections are accepted", socketFile, e);
            }
        } finally {
            closeQuietly(server);
            closeQuietly(acceptSelector);
        }
    }

    /** The receiver thread: reads every accepted connection and puts whole frames into the inbox. */
    private void receive() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BUFFER_SIZE);
        try {
            while (!closed.get()) {
                readSelector.select();
                for (SocketChannel channel; (channel = accepted.poll()) != null; ) {
                    channel.register(readSelector, SelectionKey.OP_READ, new Inbound(channel));
                }
                Iterator<SelectionKey> keys = readSelector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    Inbound connection = (Inbound) key.attachment();
                    try {
                        if (!connection.readFrames(buffer)) {
                            key.cancel();
                            closeQuietly(connection.channel);
                        }
                    } catch (ClosedByInterruptException e) {
                        return; // close() interrupted a read
                    } catch (IOException e) {
                        if (closed.get()) {
                            return;
                        }
                        LOG.warn("closing connection to {}: {}", socketFile, e.getMessage());
                        key.cancel();
                        closeQuietly(connection.channel);
                    }
                }
            }
        } catch (InterruptedException e) {
            // close() interrupted a wait for room in the full inbox
        } catch (IOException | ClosedSelectorException e) {
            if (!closed.get()) {
                LOG.error("receiver of {} failed; nothing more is received", socketFile, e);
            }
        } finally {
            for (SelectionKey key : readSelector.keys()) {
                closeQuietly(key.channel());
            }
            for (SocketChannel channel; (channel = accepted.poll()) != null; ) {
                closeQuietly(channel);
            }
            closeQuietly(readSelector);
        }
    }

    /** The reading side of one accepted connection: frame parsing state across reads. Receiver thread only. */
    private final class Inbound {
        final SocketChannel channel;
        private int headerBytes;
        private int length;
        private byte[] frame;
        private int filled;

        Inbound(SocketChannel channel) {
            this.channel = channel;
        }

        /** Reads what the kernel has (up to a limit) and queues every whole frame; false at end of stream. */
        boolean readFrames(ByteBuffer buffer) throws IOException, InterruptedException {
            for (int reads = 0; reads < MAX_READS_PER_ROUND; reads++) {
                buffer.clear();
                int n = channel.read(buffer);
                if (n < 0) {
                    if (frame != null || headerBytes > 0) {
                        LOG.warn("connection to {} closed in the middle of a frame: {} bytes of it had arrived",
                                socketFile, frame == null ? headerBytes : 4 + filled);
                    }
                    return false;
                }
                buffer.flip();
                parse(buffer);
                if (n < buffer.capacity()) {
                    break; // drained what the kernel had
                }
            }
            return true;
        }

        private void parse(ByteBuffer buffer) throws IOException, InterruptedException {
            while (buffer.hasRemaining()) {
                if (frame == null) {
                    if (headerBytes == 0 && buffer.remaining() >= 4) {
                        length = buffer.getInt();
                    } else {
                        while (headerBytes < 4 && buffer.hasRemaining()) {
                            length = length << 8 | buffer.get() & 0xFF;
                            headerBytes++;
                        }
                        if (headerBytes < 4) {
                            return;
                        }
                        headerBytes = 0;
                    }
                    if (length < 0 || length > MAX_FRAME_LENGTH) {
                        throw new IOException("frame length " + Integer.toUnsignedLong(length)
                                + " exceeds maxFrameLength " + MAX_FRAME_LENGTH);
                    }
                    frame = length == 0 ? EMPTY : new byte[length];
                    filled = 0;
                    length = 0;
                }
                int n = Math.min(buffer.remaining(), frame.length - filled);
                buffer.get(frame, filled, n);
                filled += n;
                if (filled == frame.length) {
                    inboxBytes.acquire(permits(frame));
                    inbox.put(frame);
                    frame = null;
                }
            }
        }
    }

    private static int permits(byte[] frame) {
        return Math.min(frame.length, INBOX_CAPACITY_BYTES);
    }

    private void join(Thread thread) {
        try {
            thread.join(JOIN_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("{} did not stop within {} ms of close", thread.getName(), JOIN_MILLIS);
        }
    }

    private static Thread daemon(Runnable body, String name) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    private static void deleteQuietly(Path socketFile) {
        try {
            Files.deleteIfExists(socketFile);
        } catch (IOException e) {
            LOG.warn("delete failed for socket file {}: {}", socketFile, e.toString());
        }
    }

    static void closeQuietly(AutoCloseable closeable) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception e) {
            LOG.debug("close of {} failed: {}", closeable, e.toString());
        }
    }
}
