package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
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
 * and the {@code SocketAddress} of a path. Moving a TCP service to UDS changes only these four
 * things in its {@code ServerBootstrap} and {@code Bootstrap}:
 *
 * <pre>{@code
 * DomainSockets uds = DomainSockets.of(IoMode.AUTO);
 * EventLoopGroup group = uds.newEventLoopGroup(1);
 * new ServerBootstrap().group(group).channel(uds.serverChannelType()).childHandler(myInitializer)
 *         .bind(uds.socketAddress(Path.of("/run/my.sock")));
 * }</pre>
 *
 * <p>The stagecrew frame codec and hello exchange can go into such a pipeline too: see
 * {@link FrameCodec}. Immutable and thread-safe; {@link #of} probes a native mode once.
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

    /** The factory of this mode's I/O handler, for a {@link MultiThreadIoEventLoopGroup} of your own. */
    public IoHandlerFactory ioHandlerFactory() {
        return backend.newIoHandlerFactory();
    }

    /**
     * Creates an event loop group of {@code threads} daemon threads named {@code stagecrew-<mode>-…}
     * for this mode. The caller owns it and shuts it down.
     */
    public EventLoopGroup newEventLoopGroup(int threads) {
        return new MultiThreadIoEventLoopGroup(threads,
                new DefaultThreadFactory("stagecrew-" + backend.mode().name().toLowerCase(Locale.ROOT), true),
                backend.newIoHandlerFactory());
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
     * The address to bind or connect to for a socket file: Netty's {@code DomainSocketAddress} for
     * the native modes, the JDK's {@code UnixDomainSocketAddress} for NIO, a {@code LocalAddress}
     * for LOCAL.
     *
     * @throws IllegalArgumentException if the path is too long for {@code sun_path}
     */
    public SocketAddress socketAddress(Path path) {
        return backend.socketAddress(Address.of(path));
    }

    /**
     * The address to bind a server to at {@code path}, after making the path free the way a
     * {@link org.stagecrew.transport.Transport} does: a stale socket file (no listener) is removed,
     * a live one is refused. Use it instead of {@link #socketAddress(Path)} for binding: the native
     * modes would otherwise unlink a live listener's file, and NIO would refuse even a stale one.
     *
     * @throws org.stagecrew.transport.AddressInUseException if a live listener holds the file
     * @throws TransportException if the path holds something other than a socket
     */
    public SocketAddress bindAddress(Path path) {
        Address address = Address.of(path);
        if (backend.mode().usesSocketFiles()) {
            SocketFiles.clearStale(path);
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
