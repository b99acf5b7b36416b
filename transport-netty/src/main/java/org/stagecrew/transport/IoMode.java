package org.stagecrew.transport;

/**
 * How a transport performs socket I/O. Every mode speaks the same wire protocol, so units using
 * different modes talk to each other.
 */
public enum IoMode {
    /** Epoll on Linux when Netty's native library loads, otherwise {@link #NIO}. */
    AUTO,
    /** Netty's native epoll transport ({@code DomainSocketAddress}); Linux only. */
    EPOLL,
    /** The JDK's own Unix Domain Sockets (JDK 16+) through Netty's NIO domain socket channels. */
    NIO
}
