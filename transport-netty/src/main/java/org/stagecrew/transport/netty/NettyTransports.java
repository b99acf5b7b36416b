package org.stagecrew.transport.netty;

import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Opens Netty-based transports; {@link Transport#open(TransportConfig)} delegates here. Use that
 * method rather than this class.
 */
public final class NettyTransports {
    private NettyTransports() {
    }

    /**
     * Binds a transport as {@link Transport#open(TransportConfig)} documents.
     *
     * @throws org.stagecrew.transport.AddressInUseException if a live listener holds the socket file
     * @throws org.stagecrew.transport.TransportException if the socket directory is unsafe or the
     *     I/O mode is unavailable
     */
    public static Transport open(TransportConfig config) {
        NettyVersions.warnOnceIfMixed();
        return NettyTransport.open(config);
    }
}
