package org.stagecrew.transport.spi;

import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * The service that implements {@link Transport}: {@link Transport#open(TransportConfig)} and {@link
 * IoMode#unavailabilityCause()} find it with {@link java.util.ServiceLoader} once per class loader
 * and delegate to it, so that the API names no implementation. An implementation registers itself in
 * {@code META-INF/services/org.stagecrew.transport.spi.TransportProvider}; the Netty one ships in
 * {@code stagecrew-transport-netty}. When several are registered, the one with the highest {@link
 * #priority()} wins.
 *
 * <p>Implementations are public with a public no-argument constructor (as {@code ServiceLoader}
 * requires) and thread-safe; applications do not call them directly.
 */
public interface TransportProvider {

    /**
     * Binds a new transport as {@link Transport#open(TransportConfig)} documents, with the same
     * exceptions.
     */
    Transport open(TransportConfig config);

    /** Returns why {@code mode} cannot run here, or {@code null} if it can (always null for AUTO). */
    Throwable unavailabilityCause(IoMode mode);

    /** Which provider wins when several are on the class path: the highest; 0 by default. */
    default int priority() {
        return 0;
    }
}
