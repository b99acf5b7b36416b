package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.SelectStrategy;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.kqueue.KQueue;
import io.netty.channel.kqueue.KQueueDomainSocketChannel;
import io.netty.channel.kqueue.KQueueIoHandler;
import io.netty.channel.kqueue.KQueueServerDomainSocketChannel;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.spi.SelectorProvider;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import java.net.UnixDomainSocketAddress;
import java.util.Locale;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.TransportException;

/**
 * What Netty needs for one concrete {@link IoMode}: the I/O handler, the channel types and the
 * socket address of an {@link Address}. Whether a native mode can run is probed once, by Netty.
 */
enum IoBackend {
    EPOLL(IoMode.EPOLL, true) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return EpollIoHandler.newFactory();
        }

        @Override
        IoHandlerFactory newBusyPollIoHandlerFactory() {
            return EpollIoHandler.newFactory(0, () -> new EpollBusyPollStrategy(EpollBusyPollStrategy.SKIPS));
        }

        @Override
        Class<? extends ServerChannel> serverChannelType() {
            return EpollServerDomainSocketChannel.class;
        }

        @Override
        Class<? extends Channel> channelType() {
            return EpollDomainSocketChannel.class;
        }

        @Override
        Throwable probe() {
            return IS_LINUX ? Epoll.unavailabilityCause() : notOn("epoll exists only on Linux");
        }
    },
    KQUEUE(IoMode.KQUEUE, false) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return KQueueIoHandler.newFactory();
        }

        @Override
        IoHandlerFactory newBusyPollIoHandlerFactory() {
            return KQueueIoHandler.newFactory(0, () -> POLL_WITHOUT_BLOCKING);
        }

        @Override
        Class<? extends ServerChannel> serverChannelType() {
            return KQueueServerDomainSocketChannel.class;
        }

        @Override
        Class<? extends Channel> channelType() {
            return KQueueDomainSocketChannel.class;
        }

        @Override
        Throwable probe() {
            return IS_BSD ? KQueue.unavailabilityCause() : notOn("kqueue exists only on macOS and the BSDs");
        }
    },
    IO_URING(IoMode.IO_URING, true) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return IoUringIoHandler.newFactory();
        }

        @Override
        Class<? extends ServerChannel> serverChannelType() {
            return IoUringServerDomainSocketChannel.class;
        }

        @Override
        Class<? extends Channel> channelType() {
            return IoUringDomainSocketChannel.class;
        }

        @Override
        Throwable probe() {
            if (!IS_LINUX) {
                return notOn("io_uring exists only on Linux");
            }
            // Netty 4.1 has io_uring only as a separate incubator artifact, in another package.
            return NettyVersions.hasIoEventLoops() ? IoUring.unavailabilityCause() : new UnsupportedOperationException(
                    "IoMode.IO_URING needs Netty 4.2 or newer, and the class path has " + NettyVersions.transportVersion());
        }
    },
    NIO(IoMode.NIO, false) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return NioIoHandler.newFactory();
        }

        @Override
        IoHandlerFactory newBusyPollIoHandlerFactory() {
            return NioIoHandler.newFactory(SelectorProvider.provider(), () -> POLL_WITHOUT_BLOCKING);
        }

        @Override
        Class<? extends ServerChannel> serverChannelType() {
            return NioServerDomainSocketChannel.class;
        }

        @Override
        Class<? extends Channel> channelType() {
            return NioDomainSocketChannel.class;
        }

        @Override
        SocketAddress socketAddress(Address address) {
            if (address.isAbstract()) {
                throw new TransportException("IoMode.NIO cannot use the abstract socket name " + address
                        + ": the JDK's Unix Domain Sockets support socket files only; use IoMode.EPOLL or IoMode.IO_URING");
            }
            return UnixDomainSocketAddress.of(address.path());
        }

        @Override
        Throwable probe() {
            return null; // JDK 16+ always has Unix Domain Sockets, and this library requires 17
        }
    },
    LOCAL(IoMode.LOCAL, true) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return LocalIoHandler.newFactory();
        }

        @Override
        Class<? extends ServerChannel> serverChannelType() {
            return LocalServerChannel.class;
        }

        @Override
        Class<? extends Channel> channelType() {
            return LocalChannel.class;
        }

        @Override
        SocketAddress socketAddress(Address address) {
            return new LocalAddress(address.toString());
        }

        @Override
        Throwable probe() {
            return null;
        }
    };

    private static final String OS = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    private static final boolean IS_LINUX = OS.contains("linux");
    private static final boolean IS_BSD = OS.contains("mac") || OS.contains("darwin") || OS.contains("bsd");

    private final IoMode mode;
    private final boolean supportsAbstractNames;
    private volatile Throwable unavailabilityCause;
    private volatile boolean probed;

    IoBackend(IoMode mode, boolean supportsAbstractNames) {
        this.mode = mode;
        this.supportsAbstractNames = supportsAbstractNames;
    }

    IoMode mode() {
        return mode;
    }

    /**
     * A select strategy that never blocks: every turn of the event loop polls for I/O with a zero
     * timeout, then runs its tasks and timers. Not Netty's {@link SelectStrategy#BUSY_WAIT}: on epoll
     * that spins in native code until a socket event and does not see tasks submitted by other
     * threads (our senders' drain tasks) or timers, so a send would wait for the next read.
     */
    static final SelectStrategy POLL_WITHOUT_BLOCKING = (selectNow, hasTasks) -> selectNow.get();

    abstract IoHandlerFactory newIoHandlerFactory();

    /**
     * An I/O handler whose event loop busy-polls instead of sleeping in the kernel.
     *
     * @throws TransportException if this mode has no way to poll without blocking
     */
    IoHandlerFactory newBusyPollIoHandlerFactory() {
        throw busyPollUnsupported();
    }

    /** The refusal of busy-polling by a mode whose event loop cannot poll without blocking. */
    TransportException busyPollUnsupported() {
        return new TransportException("busyPoll is not supported by IoMode." + mode
                + ": it needs IoMode.EPOLL, IoMode.KQUEUE or IoMode.NIO, whose event loops can poll without blocking");
    }

    /** {@link #newBusyPollIoHandlerFactory()} or {@link #newIoHandlerFactory()}. */
    IoHandlerFactory newIoHandlerFactory(boolean busyPoll) {
        return busyPoll ? newBusyPollIoHandlerFactory() : newIoHandlerFactory();
    }

    /**
     * Whether a channel of this mode allocates a read's buffer, reads into it and hands it on before
     * it allocates the next, as {@link ReadBuffers} needs to carry a cut frame into the next read:
     * epoll, kqueue, NIO and io_uring (one read in flight; we use no buffer ring) do. An in-JVM channel
     * reads no bytes.
     */
    boolean readsOneBufferAtATime() {
        return this != LOCAL;
    }

    abstract Class<? extends ServerChannel> serverChannelType();

    abstract Class<? extends Channel> channelType();

    /** Why this backend cannot run here, or null; computed by {@link #unavailabilityCause()} once. */
    abstract Throwable probe();

    /**
     * The socket address Netty binds or connects to for {@code address}.
     *
     * @throws TransportException if this mode cannot use an abstract-namespace address
     */
    SocketAddress socketAddress(Address address) {
        if (address.isAbstract()) {
            if (!supportsAbstractNames) {
                throw new TransportException("IoMode." + mode + " cannot use the abstract socket name " + address
                        + ": abstract names exist only on Linux; use IoMode.EPOLL or IoMode.IO_URING");
            }
            return new DomainSocketAddress("\0" + address.path());
        }
        return new DomainSocketAddress(address.path());
    }

    /** Why this backend cannot run here, or {@code null} if it can. */
    Throwable unavailabilityCause() {
        if (!probed) {
            unavailabilityCause = probe();
            probed = true;
        }
        return unavailabilityCause;
    }

    boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /**
     * Resolves a configured mode to a backend that runs here.
     *
     * @throws TransportException if a forced mode is unavailable, with its reason chained
     */
    static IoBackend forMode(IoMode mode) {
        return forModeUnchecked(mode).ensureAvailable();
    }

    /** The backend of a concrete mode, available or not; AUTO resolves as {@link #forMode} does. */
    static IoBackend forModeUnchecked(IoMode mode) {
        switch (mode) {
            case AUTO:
                return auto();
            case EPOLL:
                return EPOLL;
            case KQUEUE:
                return KQUEUE;
            case IO_URING:
                return IO_URING;
            case NIO:
                return NIO;
            case LOCAL:
                return LOCAL;
            default:
                throw new IllegalArgumentException("unknown IoMode: " + mode);
        }
    }

    private static IoBackend auto() {
        if (IS_LINUX && EPOLL.isAvailable()) {
            return EPOLL;
        }
        if (IS_BSD && KQUEUE.isAvailable()) {
            return KQUEUE;
        }
        return NIO;
    }

    private IoBackend ensureAvailable() {
        Throwable cause = unavailabilityCause();
        if (cause != null) {
            throw new TransportException("IoMode." + mode + " is not available on " + System.getProperty("os.name")
                    + "/" + System.getProperty("os.arch") + ": " + describe(cause) + missingLibraryHint(cause)
                    + "; use IoMode.AUTO or IoMode.NIO", cause);
        }
        return this;
    }

    /** Names the artifact to add when the cause is a native library that is not on the class path. */
    private String missingLibraryHint(Throwable cause) {
        String artifact = this == EPOLL ? "netty-transport-native-epoll" : this == IO_URING ? "netty-transport-native-io_uring"
                : this == KQUEUE ? "netty-transport-native-kqueue" : null;
        boolean linkError = false;
        for (Throwable t = cause; t != null && !linkError; t = t.getCause()) {
            linkError = t instanceof UnsatisfiedLinkError;
        }
        if (artifact == null || !linkError) {
            return "";
        }
        String classifier = (this == KQUEUE ? "osx-" : "linux-")
                + (System.getProperty("os.arch").matches("aarch64|arm64") ? "aarch_64" : "x86_64");
        return "; if its native library is missing, add io.netty:" + artifact + " with classifier " + classifier
                + " to the class path";
    }

    static String describe(Throwable cause) {
        Throwable root = cause;
        while (root.getMessage() == null && root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.toString();
    }

    /**
     * Reads the kernel's credentials of the peer of an accepted channel, or returns null if this
     * mode or platform cannot. {@code backend} null means: whatever the channel's type allows.
     */
    static PeerCredentials peerCredentials(IoBackend backend, Channel channel) {
        try {
            io.netty.channel.unix.PeerCredentials native_ = null;
            if (channel instanceof EpollDomainSocketChannel) {
                native_ = ((EpollDomainSocketChannel) channel).peerCredentials();
            } else if (channel instanceof KQueueDomainSocketChannel) {
                native_ = ((KQueueDomainSocketChannel) channel).peerCredentials();
            } else if (NettyVersions.hasIoEventLoops() && channel instanceof IoUringDomainSocketChannel) {
                // The io_uring classes exist only in Netty 4.2; an instanceof would fail to load them on 4.1.
                native_ = ((IoUringDomainSocketChannel) channel).peerCredentials();
            } else if (channel instanceof NioDomainSocketChannel) {
                UnixDomainPrincipal principal = channel.config().getOption(NioChannelOption.of(ExtendedSocketOptions.SO_PEERCRED));
                if (principal == null) {
                    return null;
                }
                PeerCredentials self = PeerCredentials.ofThisProcess();
                String user = principal.user().getName();
                return new PeerCredentials(-1, user.equals(self.user()) ? self.uid() : -1, -1, user);
            } else if (channel instanceof LocalChannel) {
                return PeerCredentials.ofThisProcess();
            }
            if (native_ == null) {
                return null;
            }
            int[] gids = native_.gids();
            return new PeerCredentials(native_.pid(), native_.uid(), gids.length > 0 ? gids[0] : -1);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static Throwable notOn(String what) {
        return new UnsupportedOperationException(what + ", and this is " + System.getProperty("os.name"));
    }
}
