package org.stagecrew.transport;

import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Immutable settings of a {@link Transport}, made with {@link #builder()}. Every option has a
 * documented default (a public {@code DEFAULT_…} constant), so {@code TransportConfig.defaults()}
 * is a working configuration. {@link Builder#build()} checks every value and names the offending
 * one.
 */
public final class TransportConfig {

    /** Default file name prefix of generated socket names: {@value}. */
    public static final String DEFAULT_FILE_NAME_PREFIX = "stagecrew-";
    /** Default maximum payload length of one frame: 16 MiB. */
    public static final int DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;
    /** Largest accepted {@code maxFrameLength}: what one {@code ByteBuf} can hold with its header. */
    public static final int MAX_FRAME_LENGTH_LIMIT = Integer.MAX_VALUE - 8;
    /** Default low write-buffer watermark per destination: 2 MiB. */
    public static final int DEFAULT_WRITE_BUFFER_LOW_WATER_MARK = 2 * 1024 * 1024;
    /** Default high write-buffer watermark per destination: 4 MiB. */
    public static final int DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK = 4 * 1024 * 1024;
    /** Default inbox capacity in frames: 65,536. */
    public static final int DEFAULT_INBOX_CAPACITY_FRAMES = 65_536;
    /** Default inbox capacity in bytes: 0, for {@link #defaultInboxCapacityBytes()} of the JVM the transport opens in. */
    public static final long DEFAULT_INBOX_CAPACITY_BYTES = 0;
    /** Default time to connect and receive the peer's answer to the hello: 5 s. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Default time a listener waits for a new connection's hello: 5 s. */
    public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(5);
    /** Default cap on accepted connections: 1024. */
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    /** Default {@code ioThreads}: 0, one loop of the JVM-wide shared event loop group of the mode. */
    public static final int DEFAULT_IO_THREADS = 0;

    /** Default undeliverable-frame handler: logs a warning with the destination, count and cause. */
    public static final UndeliverableHandler DEFAULT_UNDELIVERABLE_HANDLER = ConfigDefaults::logUndeliverable;

    /** A private copy of the builder that made this configuration; never handed out. */
    private final Builder b;

    private TransportConfig(Builder builder) {
        this.b = builder.copy();
        b.socketDirectory = b.socketDirectory != null ? b.socketDirectory : defaultSocketDirectory();
    }

    /** Returns a configuration with every default. */
    public static TransportConfig defaults() {
        return builder().build();
    }

    /** Returns a builder holding every default. */
    public static Builder builder() {
        return new Builder();
    }

    /** Returns a builder initialised from this configuration. */
    public Builder toBuilder() {
        return b.copy();
    }

    /**
     * The default socket directory: {@code $XDG_RUNTIME_DIR/stagecrew} when that variable names a directory,
     * else {@code <java.io.tmpdir>/stagecrew-<user.name>}. It is created with mode 0700 on first use, and
     * refused if it belongs to another user, is a symbolic link, or is writable by group or others.
     */
    public static Path defaultSocketDirectory() {
        return ConfigDefaults.socketDirectory();
    }

    /**
     * The inbox bytes of a transport opened in this JVM with {@link #inboxCapacityBytes()} 0: 64 MiB,
     * or a quarter of the JVM's direct memory limit if less (at least 1 MiB; {@code -Xmx64m}: 16 MiB),
     * so that a flood fills the inbox, which pauses reading, before the (direct) reads run out of memory.
     */
    public static long defaultInboxCapacityBytes() {
        return ConfigDefaults.inboxCapacityBytes();
    }

    /** Directory of the socket file. Default: {@link #defaultSocketDirectory()}. */
    public Path socketDirectory() {
        return b.socketDirectory;
    }

    /** Exact socket file name, or {@code null} (the default) for a generated unique name. */
    public String fileName() {
        return b.fileName;
    }

    /** Prefix of generated names ({@code <prefix><pid>-<n>.sock}). Default {@value #DEFAULT_FILE_NAME_PREFIX}. */
    public String fileNamePrefix() {
        return b.fileNamePrefix;
    }

    /** How socket I/O is done. Default {@link IoMode#AUTO}. */
    public IoMode ioMode() {
        return b.ioMode;
    }

    /**
     * Whether the transport binds a Linux abstract-namespace name ({@code @<fileName or generated
     * name>}, no file, {@link #socketDirectory()} unused) instead of a socket file. Default false.
     * Only EPOLL, IO_URING and LOCAL support it.
     */
    public boolean usesAbstractNamespace() {
        return b.abstractNamespace;
    }

    /** Largest payload, in bytes, that this transport sends or accepts. Default 16 MiB. */
    public int maxFrameLength() {
        return b.maxFrameLength;
    }

    /** Bytes queued per destination below which blocked senders resume. Default 2 MiB. */
    public int writeBufferLowWaterMark() {
        return b.writeBufferLowWaterMark;
    }

    /** Bytes queued per destination above which sends wait or report back-pressure. Default 4 MiB. */
    public int writeBufferHighWaterMark() {
        return b.writeBufferHighWaterMark;
    }

    /** Frames the inbox holds before the transport stops reading its sockets. Default 65,536. */
    public int inboxCapacityFrames() {
        return b.inboxCapacityFrames;
    }

    /** Bytes of read buffers the inbox holds before reading stops; 0 (default): {@link #defaultInboxCapacityBytes()}. */
    public long inboxCapacityBytes() {
        return b.inboxCapacityBytes;
    }

    /** Time allowed to connect to a destination and get its answer to our hello. Default 5 s. */
    public Duration connectTimeout() {
        return b.connectTimeout;
    }

    /** Time a new inbound connection has to complete its hello. Default 5 s. */
    public Duration helloTimeout() {
        return b.helloTimeout;
    }

    /**
     * Threads of a private event loop group, 1 to 64; or 0 (the default): one loop of the JVM-wide shared
     * group of the mode (as many daemon threads as cores, kept for the JVM's life), or of {@link
     * #eventLoopGroup()}. {@link #busyPoll()} always makes a private group (of one thread for 0).
     */
    public int ioThreads() {
        return b.ioThreads;
    }

    /**
     * The application's own event loop group that the transport runs on (one of its loops), or null
     * (the default) for {@link #ioThreads()}. The transport never shuts it down.
     */
    public EventLoopGroup eventLoopGroup() {
        return b.eventLoopGroup;
    }

    /** Where failures of frames sent without a future are reported. Default: a logged warning. */
    public UndeliverableHandler undeliverableHandler() {
        return b.undeliverableHandler;
    }

    /** Which peers may connect, judged by their kernel-verified credentials. Default {@link PeerPolicy#sameUser()}. */
    public PeerPolicy peerPolicy() {
        return b.peerPolicy;
    }

    /** Accepted connections held at once; more are answered TOO_MANY_CONNECTIONS and closed. Default 1024. */
    public int maxConnections() {
        return b.maxConnections;
    }

    /**
     * Whether the event loops busy-wait for I/O instead of sleeping in the kernel (EPOLL, KQUEUE and NIO only): each
     * keeps a CPU busy, wakes without the kernel's scheduling delay, writes what its handlers send at once. Default false.
     */
    public boolean busyPoll() {
        return b.busyPoll;
    }

    /**
     * The handler that gets received frames on the event loop, as they are decoded, instead of the
     * inbox; or null (the default) for the inbox and {@link Transport#poll}/{@link Transport#receive}.
     */
    public FrameHandler eventLoopHandler() {
        return b.eventLoopHandler;
    }

    /** What a send promises: written to the socket (the default), or acknowledged by the destination. See {@link Delivery}. */
    public Delivery delivery() {
        return b.delivery;
    }

    @Override
    public String toString() {
        return "TransportConfig{socketDirectory=" + b.socketDirectory + ", fileName=" + b.fileName + ", fileNamePrefix="
                + b.fileNamePrefix + ", ioMode=" + b.ioMode + ", abstractNamespace=" + b.abstractNamespace + ", maxFrameLength="
                + b.maxFrameLength + ", writeBufferWaterMark=" + b.writeBufferLowWaterMark + ".." + b.writeBufferHighWaterMark
                + ", inboxCapacityFrames=" + b.inboxCapacityFrames + ", inboxCapacityBytes=" + b.inboxCapacityBytes + ", connectTimeout="
                + b.connectTimeout + ", helloTimeout=" + b.helloTimeout + ", ioThreads=" + b.ioThreads + ", peerPolicy=" + b.peerPolicy
                + ", maxConnections=" + b.maxConnections + ", busyPoll=" + b.busyPoll + ", eventLoopHandler=" + b.eventLoopHandler
                + ", delivery=" + b.delivery + ", eventLoopGroup=" + b.eventLoopGroup + '}';
    }

    /** Fluent builder of {@link TransportConfig}; not thread-safe. */
    public static final class Builder implements Cloneable {
        private Path socketDirectory;
        private String fileName;
        private String fileNamePrefix = DEFAULT_FILE_NAME_PREFIX;
        private IoMode ioMode = IoMode.AUTO;
        private boolean abstractNamespace;
        private int maxFrameLength = DEFAULT_MAX_FRAME_LENGTH;
        private int writeBufferLowWaterMark = DEFAULT_WRITE_BUFFER_LOW_WATER_MARK;
        private int writeBufferHighWaterMark = DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK;
        private int inboxCapacityFrames = DEFAULT_INBOX_CAPACITY_FRAMES;
        private long inboxCapacityBytes = DEFAULT_INBOX_CAPACITY_BYTES;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration helloTimeout = DEFAULT_HELLO_TIMEOUT;
        private int ioThreads = DEFAULT_IO_THREADS;
        private UndeliverableHandler undeliverableHandler = DEFAULT_UNDELIVERABLE_HANDLER;
        private PeerPolicy peerPolicy = PeerPolicy.sameUser();
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private boolean busyPoll;
        private FrameHandler eventLoopHandler;
        private Delivery delivery = Delivery.written();
        private EventLoopGroup eventLoopGroup;

        private Builder() {
        }

        /** A copy of this builder: every field is an immutable value or a shared handler, so a shallow copy. */
        private Builder copy() {
            try {
                return (Builder) clone();
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }

        /** Sets the socket directory; {@code null} restores the default. */
        public Builder socketDirectory(Path socketDirectory) {
            this.socketDirectory = socketDirectory;
            return this;
        }

        /** Sets an exact socket file name (no directory part); {@code null} for a generated one. */
        public Builder fileName(String fileName) {
            this.fileName = fileName;
            return this;
        }

        /** Sets the prefix of generated socket file names. */
        public Builder fileNamePrefix(String fileNamePrefix) {
            this.fileNamePrefix = fileNamePrefix;
            return this;
        }

        /** Sets the I/O mode. */
        public Builder ioMode(IoMode ioMode) {
            this.ioMode = ioMode;
            return this;
        }

        /** Binds a Linux abstract-namespace name instead of a socket file (see {@link TransportConfig#usesAbstractNamespace()}). */
        public Builder useAbstractNamespace(boolean abstractNamespace) {
            this.abstractNamespace = abstractNamespace;
            return this;
        }

        /** Sets the maximum payload length in bytes, 0 to {@value TransportConfig#MAX_FRAME_LENGTH_LIMIT}. */
        public Builder maxFrameLength(int maxFrameLength) {
            this.maxFrameLength = maxFrameLength;
            return this;
        }

        /** Sets the low and high write-buffer watermarks in bytes; 0 &lt; low &lt;= high. */
        public Builder writeBufferWaterMark(int low, int high) {
            this.writeBufferLowWaterMark = low;
            this.writeBufferHighWaterMark = high;
            return this;
        }

        /** Sets the inbox capacity in frames (at least 1) and bytes (at least 1, or 0 for the JVM's default). */
        public Builder inboxCapacity(int frames, long bytes) {
            this.inboxCapacityFrames = frames;
            this.inboxCapacityBytes = bytes;
            return this;
        }

        /** Sets the time allowed to connect and get the hello answer; positive. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /** Sets the time an inbound connection has to send its hello; positive. */
        public Builder helloTimeout(Duration helloTimeout) {
            this.helloTimeout = helloTimeout;
            return this;
        }

        /** Sets the threads of a private event loop group, 1 to 64, or 0 for a shared one (see {@link TransportConfig#ioThreads()}). */
        public Builder ioThreads(int ioThreads) {
            this.ioThreads = ioThreads;
            return this;
        }

        /** Sets the handler told about frames sent without a future that could not be delivered. */
        public Builder undeliverableHandler(UndeliverableHandler undeliverableHandler) {
            this.undeliverableHandler = undeliverableHandler;
            return this;
        }

        /** Sets which peers may connect (see {@link PeerPolicy}). */
        public Builder peerPolicy(PeerPolicy peerPolicy) {
            this.peerPolicy = peerPolicy;
            return this;
        }

        /** Sets the cap on accepted connections, 1 to 65536. */
        public Builder maxConnections(int maxConnections) {
            this.maxConnections = maxConnections;
            return this;
        }

        /**
         * Busy-waits for I/O instead of sleeping in the kernel: the lowest latency, for one fully busy CPU
         * per event loop (on EPOLL the connection that last brought frames is read without asking epoll).
         * EPOLL, KQUEUE and NIO (or {@link IoMode#AUTO}, which resolves to one); opening fails for IO_URING
         * and LOCAL. With few CPUs, more than one spinning thread per process starves everything else.
         */
        public Builder busyPoll(boolean busyPoll) {
            this.busyPoll = busyPoll;
            return this;
        }

        /**
         * Delivers received frames to {@code handler} on the event loop as each read is decoded, instead of to
         * the inbox: no hand-off. The frame is a view valid during the call ({@link Frame}); the handler must
         * return quickly and not block; it may send with {@link Transport#offer} or the future-returning {@link
         * Transport#send(Address, io.netty.buffer.ByteBuf)}, not the blocking send. What it throws is logged and
         * the frame counts as handled. {@link Transport#poll} and {@link Transport#receive} then throw {@link
         * IllegalStateException}. {@code null} (the default) restores the inbox.
         */
        public Builder eventLoopHandler(FrameHandler handler) {
            this.eventLoopHandler = handler;
            return this;
        }

        /** Sets the delivery mode; default {@link Delivery#written()}. */
        public Builder delivery(Delivery delivery) {
            this.delivery = delivery;
            return this;
        }

        /**
         * Runs the transport on one loop of the application's {@code group} (as grpc-java and reactor-netty take one),
         * or null for the default. Its loops must run the transport's mode ({@code DomainSockets.of(mode).newEventLoopGroup(n)}
         * makes one), else opening fails with an {@link IllegalArgumentException} naming the group's class and the mode.
         * The transport never shuts it down. Excludes {@code ioThreads} above 0 and {@code busyPoll}.
         */
        public Builder eventLoopGroup(EventLoopGroup group) {
            this.eventLoopGroup = group;
            return this;
        }

        /**
         * Checks every value and returns the configuration.
         *
         * @throws IllegalArgumentException naming the first invalid option and its value
         * @throws NullPointerException naming a required option that is null
         */
        public TransportConfig build() {
            Objects.requireNonNull(ioMode, "ioMode");
            Objects.requireNonNull(fileNamePrefix, "fileNamePrefix");
            Objects.requireNonNull(connectTimeout, "connectTimeout");
            Objects.requireNonNull(helloTimeout, "helloTimeout");
            Objects.requireNonNull(undeliverableHandler, "undeliverableHandler");
            Objects.requireNonNull(peerPolicy, "peerPolicy");
            Objects.requireNonNull(delivery, "delivery");
            ConfigChecks.between("maxConnections", maxConnections, 1, 65_536);
            ConfigChecks.fileNames(fileName, fileNamePrefix);
            ConfigChecks.between("maxFrameLength", maxFrameLength, 0, MAX_FRAME_LENGTH_LIMIT);
            ConfigChecks.waterMarks(writeBufferLowWaterMark, writeBufferHighWaterMark);
            ConfigChecks.atLeast("inboxCapacity frames", inboxCapacityFrames, 1);
            ConfigChecks.atLeast("inboxCapacity bytes", inboxCapacityBytes, 0);
            ConfigChecks.positive("connectTimeout", connectTimeout);
            ConfigChecks.positive("helloTimeout", helloTimeout);
            ConfigChecks.between("ioThreads", ioThreads, 0, 64);
            ConfigChecks.eventLoopGroup(eventLoopGroup, ioThreads, busyPoll);
            return new TransportConfig(this);
        }
    }
}
