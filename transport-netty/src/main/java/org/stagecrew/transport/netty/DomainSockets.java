package org.stagecrew.transport.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportException;

/**
 * Everything an existing Netty service needs to serve and connect over Unix Domain Sockets with its
 * own pipeline, for one {@link IoMode}: the event loop group, the server and client channel types,
 * and the {@code SocketAddress} of a path. Moving a TCP service to UDS changes only these things in
 * its {@code ServerBootstrap} and {@code Bootstrap}, and binds through {@link #bind} so that the
 * socket file has one owner, mode 0600, and is removed when the server channel closes or the JVM exits:
 *
 * <pre>{@code
 * DomainSockets uds = DomainSockets.of(IoMode.AUTO);
 * EventLoopGroup group = uds.newEventLoopGroup(1);
 * ServerBootstrap server = new ServerBootstrap().group(group).channel(uds.serverChannelType()).childHandler(myInitializer);
 * Channel listening = uds.bind(server, Path.of("/run/my/my.sock")).sync().channel();
 * // clients: new Bootstrap().group(group).channel(uds.channelType())...connect(uds.connectAddress(path))
 * }</pre>
 *
 * <p>Runs on Netty 4.1 as well as 4.2, chosen at run time: on 4.1 the groups are Netty's
 * per-transport ones ({@code EpollEventLoopGroup}, {@code NioEventLoopGroup}, …) and IO_URING is
 * unavailable; only {@link #ioHandlerFactory()} needs 4.2. The stagecrew frame codec and hello
 * exchange can go into such a pipeline too: see {@link FrameCodec}. Immutable and thread-safe;
 * {@link #of} probes a native mode once.
 */
public final class DomainSockets {
    private final IoBackend backend;

    private DomainSockets(IoBackend backend) {
        this.backend = backend;
    }

    /**
     * Returns the helper for {@code mode}; AUTO picks epoll on Linux, kqueue on macOS/BSD, else NIO.
     *
     * @throws TransportException if the mode is not available here, with the reason
     */
    public static DomainSockets of(IoMode mode) {
        NettyVersions.warnOnceIfMixed();
        return new DomainSockets(IoBackend.forMode(Objects.requireNonNull(mode, "mode")));
    }

    /** Returns why {@code mode} cannot run here, or {@code null} if it can (always null for AUTO). */
    public static Throwable unavailabilityCause(IoMode mode) {
        return mode == IoMode.AUTO ? null : IoBackend.forModeUnchecked(Objects.requireNonNull(mode, "mode")).unavailabilityCause();
    }

    /** The concrete mode (never AUTO). */
    public IoMode mode() {
        return backend.mode();
    }

    /**
     * The factory of this mode's I/O handler, for a {@code MultiThreadIoEventLoopGroup} of your own.
     *
     * @throws org.stagecrew.transport.UnsupportedNettyVersionException on Netty 4.1, which has no I/O
     *         handlers; use {@link #newEventLoopGroup} there
     */
    public IoHandlerFactory ioHandlerFactory() {
        NettyVersions.requireIoEventLoops("DomainSockets.ioHandlerFactory()");
        return backend.newIoHandlerFactory();
    }

    /**
     * Creates an event loop group of {@code threads} daemon threads named {@code stagecrew-<mode>-…}
     * for this mode. The caller owns it and shuts it down.
     */
    public EventLoopGroup newEventLoopGroup(int threads) {
        return EventLoops.newGroup(backend, threads, threadFactory("stagecrew-"), false);
    }

    /**
     * Creates an event loop group whose threads busy-poll: each loop polls for I/O without ever
     * sleeping in the kernel, for the lowest latency, at the cost of one fully busy CPU per thread
     * even when idle. The same mode as {@link org.stagecrew.transport.TransportConfig.Builder#busyPoll}
     * gives a transport. Threads are daemons named {@code stagecrew-busy-<mode>-…}; the caller owns
     * the group and shuts it down. On a machine with few CPUs, more than one spinning thread per
     * process starves everything else.
     *
     * @throws TransportException for IO_URING and LOCAL, whose event loops cannot poll without blocking
     */
    public EventLoopGroup newBusyPollEventLoopGroup(int threads) {
        return EventLoops.newGroup(backend, threads, threadFactory("stagecrew-busy-"), true);
    }

    private DefaultThreadFactory threadFactory(String prefix) {
        return new DefaultThreadFactory(prefix + backend.mode().name().toLowerCase(Locale.ROOT), true);
    }

    /** The server channel type, for {@code ServerBootstrap.channel(…)}. */
    public Class<? extends ServerChannel> serverChannelType() {
        return backend.serverChannelType();
    }

    /** The client channel type, for {@code Bootstrap.channel(…)}. */
    public Class<? extends Channel> channelType() {
        return backend.channelType();
    }

    /**
     * The address to connect to for the socket file at {@code path}: Netty's {@code
     * DomainSocketAddress} for the native modes, the JDK's {@code UnixDomainSocketAddress} for NIO, a
     * {@code LocalAddress} for LOCAL. Never bind to it: in EPOLL and IO_URING, Netty's bind unlinks
     * whatever file is at the path first, a live listener's too; to serve at a path, use {@link #bind}.
     *
     * @throws IllegalArgumentException if the path is too long for {@code sun_path}
     */
    public SocketAddress connectAddress(Path path) {
        return backend.socketAddress(Address.of(path));
    }

    /**
     * The same as {@link #connectAddress(Path)}.
     *
     * @deprecated the name invites binding to it, which in EPOLL and IO_URING takes over a live
     *             listener's socket file; use {@link #connectAddress(Path)} to connect and {@link #bind}
     *             to serve
     */
    @Deprecated
    public SocketAddress socketAddress(Path path) {
        return connectAddress(path);
    }

    /**
     * Binds {@code server} at the socket file {@code path} the way a
     * {@link org.stagecrew.transport.Transport} binds: it takes the address lock (the lock file
     * {@code <path>.lock} beside the socket file; see the README), so that of two binders, threads or
     * processes, exactly one wins; under it a stale socket file (no listener) is replaced and a live
     * one refused. The returned future completes once the socket file is bound and its mode is 0600
     * (rw-------), whatever the umask. The lock is held until the server channel closes; then the
     * socket file and the lock file are unlinked (and at JVM exit, if the channel is still open).
     * In LOCAL mode, which has no files, this is {@code server.bind(connectAddress(path))}. To have the
     * directory made or checked private too, use {@link #bindInPrivateDirectory}.
     *
     * <p>Thread-safe; does not block.
     *
     * @return the future of the bind, with the server channel; it fails with a
     *         {@link TransportException} naming the path if Netty's bind or setting the mode fails
     * @throws org.stagecrew.transport.AddressInUseException if another transport or server channel of
     *         this JVM, another process, or a live listener holds the path
     * @throws TransportException if the directory does not exist, or the path holds something other than a socket
     * @throws IllegalArgumentException if the path is too long for {@code sun_path}
     */
    public ChannelFuture bind(ServerBootstrap server, Path path) {
        Objects.requireNonNull(server, "server");
        return bind(server, Address.of(path));
    }

    /**
     * Binds as {@link #bind} does, in a directory that is private first, as a transport's socket
     * directory is: the socket file's directory is created with mode 0700 (rwx------, whatever the umask)
     * if it is missing, together with missing parents; an existing one is refused if it is a symbolic
     * link, belongs to another user, or is writable by group or others. So no other user can replace
     * the socket file, nor connect through the directory. In LOCAL mode, which has no files, the
     * directory is left alone.
     *
     * @return the future of the bind, as {@link #bind}'s
     * @throws TransportException naming the directory and what is wrong with it, or as {@link #bind}
     * @throws org.stagecrew.transport.AddressInUseException as {@link #bind}
     * @throws IllegalArgumentException if the path is too long for {@code sun_path}
     */
    public ChannelFuture bindInPrivateDirectory(ServerBootstrap server, Path path) {
        Objects.requireNonNull(server, "server");
        Address address = Address.of(path);
        if (backend.mode().usesSocketFiles()) {
            SocketFiles.prepareDirectory(address.toPath().toAbsolutePath().getParent());
        }
        return bind(server, address);
    }

    private ChannelFuture bind(ServerBootstrap server, Address address) {
        SocketAddress socketAddress = backend.socketAddress(address);
        if (!backend.mode().usesSocketFiles()) {
            return server.bind(socketAddress);
        }
        AddressLock lock = AddressLock.acquire(address.toPath());
        ChannelFuture bound;
        try {
            lock.clearStale();
            bound = server.bind(socketAddress);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        // Completed only after the mode is set: a caller's sync() must not see the umask's mode.
        ChannelPromise result = new DefaultChannelPromise(bound.channel(), GlobalEventExecutor.INSTANCE);
        bound.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                lock.close();
                result.setFailure(Failures.bindFailed(address, false, f.cause()));
                return;
            }
            lock.bound();
            // Netty's server channels unlink their socket file as they close; give the address up only after that.
            f.channel().closeFuture().addListener(closed -> lock.close());
            try {
                SocketFiles.restrictPermissions(address.toPath());
                result.setSuccess();
            } catch (TransportException e) {
                f.channel().close();
                result.setFailure(e);
            }
        });
        return result;
    }

    /**
     * The address to bind a server to at {@code path}, after making the path free as far as a check
     * before your own bind can: a stale socket file (no listener) is removed, a live one is refused.
     * Prefer {@link #bind}: this method returns before you bind, so it can neither hold the address
     * against a concurrent binder (two may both pass the check, and in the native modes the later
     * bind unlinks the earlier one's file), nor set the socket file's mode (it gets the umask's,
     * typically 0755), nor remove the file at JVM exit. Still better than {@link #connectAddress(Path)}
     * for binding: the native modes would unlink a live listener's file, and NIO would refuse even a
     * stale one.
     *
     * @throws org.stagecrew.transport.AddressInUseException if a live listener or a stagecrew owner holds the path
     * @throws TransportException if the directory does not exist, or the path holds something other than a socket
     */
    public SocketAddress bindAddress(Path path) {
        Address address = Address.of(path);
        if (backend.mode().usesSocketFiles()) {
            try (AddressLock lock = AddressLock.acquire(address.toPath())) {
                lock.clearStale();
            }
        }
        return backend.socketAddress(address);
    }

    /**
     * The address to bind or connect to for {@code address}, a socket file or an abstract name.
     *
     * @throws TransportException if this mode cannot use an abstract-namespace address
     */
    public SocketAddress socketAddress(Address address) {
        return backend.socketAddress(Objects.requireNonNull(address, "address"));
    }

    @Override
    public String toString() {
        return "DomainSockets{" + backend.mode() + '}';
    }
}
