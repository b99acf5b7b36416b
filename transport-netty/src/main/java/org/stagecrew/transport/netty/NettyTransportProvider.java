package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.spi.TransportProvider;

/**
 * The Netty implementation of the transport API, registered in {@code
 * META-INF/services/org.stagecrew.transport.spi.TransportProvider}. Public only because {@link
 * java.util.ServiceLoader} requires it: use {@link Transport#open(TransportConfig)}. Thread-safe.
 */
public final class NettyTransportProvider implements TransportProvider {

    /** Called by {@link java.util.ServiceLoader}. */
    public NettyTransportProvider() {
    }

    @Override
    public Transport open(TransportConfig config) {
        return NettyTransports.open(config);
    }

    @Override
    public Throwable unavailabilityCause(IoMode mode) {
        return DomainSockets.unavailabilityCause(mode);
    }
}
