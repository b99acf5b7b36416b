package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Delivery;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/** Our {@link Transport}, used exactly as a user would: blocking sends (owned or copied), frames pushed by poll. */
final class StagecrewEndpoint implements Endpoint {
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
    /**
     * System property of the agent JVMs ({@code --jvm-opt=-Dstagecrew.benchmarks.ioThreads=1}): a private event loop
     * group of that many threads per transport instead of the JVM-wide shared one (0, the default).
     */
    static final String IO_THREADS_PROPERTY = "stagecrew.benchmarks.ioThreads";

    private final Transport transport;
    /** Addresses by string, so that a send allocates nothing. */
    private final ConcurrentHashMap<String, Address> addresses = new ConcurrentHashMap<>();
    /** The last destination and its address: a user holds on to an Address; this is how the benchmark does. */
    private volatile Resolved last;
    private volatile Sink sink;
    private final FrameHandler handler = frame -> {
        Sink s = sink;
        if (s != null) { // a pushing endpoint drops what arrives before its sink is set
            s.onFrame(frame.payload());
        }
    };
    private final boolean pushes;

    private StagecrewEndpoint(TransportConfig.Builder config, boolean pushes) {
        this.pushes = pushes;
        this.transport = Transport.open(pushes ? config.eventLoopHandler(handler).build() : config.build());
    }

    static Endpoint open(Path socketDirectory, IoMode mode) {
        return new StagecrewEndpoint(config(socketDirectory, mode), false);
    }

    private static TransportConfig.Builder config(Path socketDirectory, IoMode mode) {
        return TransportConfig.builder().socketDirectory(socketDirectory).ioMode(mode).fileNamePrefix("b-")
                .ioThreads(Integer.getInteger(IO_THREADS_PROPERTY, TransportConfig.DEFAULT_IO_THREADS));
    }

    /** Acknowledged delivery: each frame is kept until the receiving application has consumed it. */
    static Endpoint openAcknowledged(Path socketDirectory, IoMode mode) {
        return new StagecrewEndpoint(config(socketDirectory, mode).delivery(Delivery.acknowledged()), false);
    }

    /** The low-latency configuration: a busy-polling event loop that hands frames to the sink itself. */
    static Endpoint openBusyPoll(Path socketDirectory, IoMode mode) {
        return new StagecrewEndpoint(config(socketDirectory, mode).busyPoll(true), true);
    }

    @Override
    public boolean pushes() {
        return pushes;
    }

    @Override
    public void onFrames(Sink sink) {
        this.sink = sink;
    }

    @Override
    public String address() {
        return transport.address().path();
    }

    @Override
    public void send(String destination, ByteBuf payload) {
        transport.send(resolve(destination), payload, SEND_TIMEOUT);
    }

    /** The copying send: a small frame is encoded straight into this thread's buffer for the destination. */
    @Override
    public void sendCopy(String destination, ByteBuf frame) {
        transport.send(resolve(destination), frame, frame.readerIndex(), frame.readableBytes(), SEND_TIMEOUT);
    }

    private Address resolve(String destination) {
        Resolved r = last;
        if (r == null || r.name != destination) {
            r = new Resolved(destination, addresses.computeIfAbsent(destination, Address::of));
            last = r;
        }
        return r.address;
    }

    private record Resolved(String name, Address address) {
    }

    @Override
    public void flush() {
        transport.flush(SEND_TIMEOUT);
    }

    @Override
    public int poll(Sink sink, int limit, long timeoutNanos) {
        this.sink = sink;
        return transport.poll(handler, limit, Duration.ofNanos(timeoutNanos));
    }

    @Override
    public void close() {
        transport.close();
    }
}
