package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportException;

/** What Netty needs for one concrete {@link IoMode}: the I/O handler, channel types and socket address. */
enum IoBackend {
    EPOLL(IoMode.EPOLL) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return EpollIoHandler.newFactory();
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
        SocketAddress socketAddress(Address address) {
            return new DomainSocketAddress(address.path());
        }

        @Override
        Throwable unavailabilityCause() {
            return Epoll.unavailabilityCause();
        }
    },
    NIO(IoMode.NIO) {
        @Override
        IoHandlerFactory newIoHandlerFactory() {
            return NioIoHandler.newFactory();
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
            return UnixDomainSocketAddress.of(address.path());
        }

        @Override
        Throwable unavailabilityCause() {
            return null; // JDK 16+ always has Unix Domain Sockets; this library requires 17
        }
    };

    private final IoMode mode;

    IoBackend(IoMode mode) {
        this.mode = mode;
    }

    IoMode mode() {
        return mode;
    }

    abstract IoHandlerFactory newIoHandlerFactory();

    abstract Class<? extends ServerChannel> serverChannelType();

    abstract Class<? extends Channel> channelType();

    abstract SocketAddress socketAddress(Address address);

    /** Why this backend cannot run here, or {@code null} if it can. */
    abstract Throwable unavailabilityCause();

    boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /**
     * Resolves a configured mode to a backend that runs here.
     *
     * @throws TransportException if a forced mode is unavailable, with its reason chained
     */
    static IoBackend forMode(IoMode mode) {
        switch (mode) {
            case AUTO:
                return EPOLL.isAvailable() ? EPOLL : NIO;
            case EPOLL:
                return EPOLL.ensureAvailable();
            case NIO:
                return NIO.ensureAvailable();
            default:
                throw new IllegalArgumentException("unknown IoMode: " + mode);
        }
    }

    private IoBackend ensureAvailable() {
        Throwable cause = unavailabilityCause();
        if (cause != null) {
            throw new TransportException("IoMode." + mode + " is not available on " + System.getProperty("os.name")
                    + "/" + System.getProperty("os.arch") + ": " + cause.getMessage()
                    + "; use IoMode.AUTO or IoMode.NIO", cause);
        }
        return this;
    }
}
