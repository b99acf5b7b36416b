package org.stagecrew.benchmarks;

import static org.stagecrew.benchmarks.JdkBaselineEndpoint.closeQuietly;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The floor for our {@code busyPoll} mode: plain JDK, no selector, no thread hand-off. The
 * polling thread spins on non-blocking {@code read}s of its accepted connections and hands each
 * whole frame to the sink as a view of its read buffer; a sender spins on non-blocking gathering
 * {@code write}s of length and payload on its own connection to the destination. Same frames as
 * {@link JdkBaselineEndpoint} (a 4-byte big-endian length, then the payload; no hello).
 *
 * <p>Threads: one acceptor ({@code baseline-busy-acceptor-<n>}, blocked in {@code accept}); the
 * caller's threads do all reads and writes. Threading as {@link Endpoint}.
 */
final class JdkBusyPollEndpoint implements Endpoint {
    private static final int READ_BUFFER_SIZE = 64 * 1024;
    private static final long JOIN_MILLIS = 5_000;
    private static final long WRITE_TIMEOUT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final Path socketFile;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final Queue<SocketChannel> accepted = new ConcurrentLinkedQueue<>();
    private final Map<String, Outbound> outbound = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The polling thread's connections. */
    private final List<Inbound> inbound = new ArrayList<>();

    private JdkBusyPollEndpoint(Path socketFile, ServerSocketChannel server, int id) {
        this.socketFile = socketFile;
        this.server = server;
        this.acceptor = new Thread(this::accept, "baseline-busy-acceptor-" + id);
        acceptor.setDaemon(true);
    }

    /**
     * Binds a new socket file with a unique name in {@code socketDirectory} and starts the acceptor.
     *
     * @throws UncheckedIOException if the socket cannot be bound, naming the path
     */
    static Endpoint open(Path socketDirectory) {
        int id = COUNTER.incrementAndGet();
        Path socketFile = socketDirectory.resolve("busy-" + ProcessHandle.current().pid() + "-" + id + ".sock").toAbsolutePath();
        ServerSocketChannel server = null;
        try {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socketFile));
        } catch (IOException | RuntimeException e) {
            closeQuietly(server);
            throw new UncheckedIOException(new IOException("open failed for " + socketFile + ": " + e.getMessage(), e));
        }
        JdkBusyPollEndpoint endpoint = new JdkBusyPollEndpoint(socketFile, server, id);
        endpoint.acceptor.start();
        return endpoint;
    }

    private void accept() {
        try {
            while (!closed.get()) {
                SocketChannel channel = server.accept();
                channel.configureBlocking(false);
                accepted.add(channel);
            }
        } catch (IOException e) {
            // closed by close(), or the socket failed: nothing more is accepted either way
        }
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

    /** Writes the frame, spinning while the socket buffer is full, before returning. */
    @Override
    public void sendCopy(String destination, ByteBuf payload) throws IOException {
        Objects.requireNonNull(destination, "destination");
        if (closed.get()) {
            throw new IOException("send to " + destination + " failed: endpoint " + socketFile + " is closed");
        }
        Outbound out = outbound.get(destination);
        if (out == null) {
            out = new Outbound(destination);
            outbound.put(destination, out);
            if (closed.get()) {
                closeQuietly(outbound.remove(destination).channel);
                throw new IOException("send to " + destination + " failed: endpoint " + socketFile + " is closed");
            }
        }
        out.write(payload);
    }

    @Override
    public void flush() {
        // Every send wrote its frame before returning.
    }

    /** Spins over the connections until a frame is there or {@code timeoutNanos} passed. */
    @Override
    public int poll(Sink sink, int limit, long timeoutNanos) throws IOException {
        long deadline = System.nanoTime() + timeoutNanos;
        for (;;) {
            for (SocketChannel channel; (channel = accepted.poll()) != null; ) {
                inbound.add(new Inbound(channel));
            }
            int count = 0;
            for (int i = 0; i < inbound.size() && count < limit; i++) {
                Inbound in = inbound.get(i);
                int n = in.read(sink, limit - count);
                if (n < 0) {
                    in.close();
                    inbound.remove(i--);
                } else {
                    count += n;
                }
            }
            if (count > 0 || System.nanoTime() - deadline > 0 || closed.get()) {
                return count;
            }
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closeQuietly(server); // wakes the acceptor
        try {
            acceptor.join(JOIN_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Outbound out : outbound.values()) {
            closeQuietly(out.channel);
        }
        outbound.clear();
        for (Inbound in : inbound) {
            in.close();
        }
        inbound.clear();
        for (SocketChannel channel; (channel = accepted.poll()) != null; ) {
            closeQuietly(channel);
        }
        try {
            Files.deleteIfExists(socketFile);
        } catch (IOException e) {
            // a benchmark's temporary directory: removed as a whole at the end of the run
        }
    }

    /** One connection to a destination, non-blocking after connect. One sender thread at a time. */
    private static final class Outbound {
        final SocketChannel channel;
        private final String destination;
        private final ByteBuffer header = ByteBuffer.allocateDirect(4);
        private final ByteBuffer[] parts = new ByteBuffer[2];

        Outbound(String destination) throws IOException {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(destination));
                c.configureBlocking(false);
            } catch (IOException | RuntimeException e) {
                closeQuietly(c);
                throw new IOException("connect failed for " + destination + ": " + e.getMessage(), e);
            }
            channel = c;
            this.destination = destination;
            parts[0] = header;
        }

        void write(ByteBuf payload) throws IOException {
            int length = payload.readableBytes();
            header.clear();
            header.putInt(0, length);
            parts[1] = payload.nioBuffer(payload.readerIndex(), length);
            try {
                long deadline = 0;
                for (long remaining = 4L + length; remaining > 0; ) {
                    long n = channel.write(parts);
                    remaining -= n;
                    if (n == 0) {
                        long now = System.nanoTime();
                        if (deadline == 0) {
                            deadline = now + WRITE_TIMEOUT_NANOS;
                        } else if (now - deadline > 0) {
                            throw new IOException("send to " + destination + " failed: its socket buffer stayed full for 30 s "
                                    + "(nobody polls that endpoint?) with " + remaining + " bytes of a frame of " + length + " unwritten");
                        }
                        Thread.onSpinWait();
                    }
                }
            } finally {
                parts[1] = null;
            }
        }
    }

    /** The reading side of one accepted connection; polling thread only. Unparsed bytes stay in the buffer between polls. */
    private static final class Inbound implements AutoCloseable {
        final SocketChannel channel;
        private ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BUFFER_SIZE).flip();
        private ByteBuf view = Unpooled.wrappedBuffer(buffer.duplicate().clear());

        Inbound(SocketChannel channel) {
            this.channel = channel;
        }

        /** Hands whole frames to the sink, reading once if none is buffered; -1 at end of stream. */
        int read(Sink sink, int limit) throws IOException {
            int count = deliver(sink, limit);
            if (count > 0) {
                return count;
            }
            buffer.compact();
            int n = channel.read(buffer);
            buffer.flip();
            if (n < 0) {
                return -1;
            }
            return n == 0 ? 0 : deliver(sink, limit);
        }

        private int deliver(Sink sink, int limit) throws IOException {
            int count = 0;
            while (count < limit && buffer.remaining() >= 4) {
                int position = buffer.position();
                int length = buffer.getInt(position);
                if (length < 0 || length > JdkBaselineEndpoint.MAX_FRAME_LENGTH) {
                    throw new IOException("frame length " + Integer.toUnsignedLong(length) + " exceeds maxFrameLength "
                            + JdkBaselineEndpoint.MAX_FRAME_LENGTH);
                }
                if (buffer.remaining() < 4 + length) {
                    if (4 + length > buffer.capacity()) {
                        grow(4 + length);
                    }
                    break;
                }
                sink.onFrame(view.setIndex(position + 4, position + 4 + length));
                buffer.position(position + 4 + length);
                count++;
            }
            return count;
        }

        private void grow(int capacity) {
            ByteBuffer larger = ByteBuffer.allocateDirect(capacity);
            larger.put(buffer).flip();
            buffer = larger;
            view.release();
            view = Unpooled.wrappedBuffer(buffer.duplicate().clear());
        }

        @Override
        public void close() {
            closeQuietly(channel);
            view.release();
        }
    }
}
