package org.stagecrew.transport;

import java.util.Comparator;
import java.util.ServiceLoader;
import org.stagecrew.transport.spi.TransportProvider;

/** Finds the {@link TransportProvider} once, through {@link ServiceLoader}; thread-safe. */
final class TransportProviders {
    static final String SERVICE_FILE = "META-INF/services/" + TransportProvider.class.getName();

    private TransportProviders() {
    }

    private static volatile TransportProvider provider;

    /**
     * The provider of the API's class loader, found on first use (a race finds it twice, harmlessly).
     *
     * @throws NoTransportProviderException if there is none; asked again at the next call
     */
    static TransportProvider provider() {
        TransportProvider found = provider;
        if (found == null) {
            found = find(TransportProvider.class.getClassLoader());
            provider = found;
        }
        return found;
    }

    /**
     * The registered provider of the highest priority that {@code loader} sees.
     *
     * @throws NoTransportProviderException if {@code loader} sees none
     */
    static TransportProvider find(ClassLoader loader) {
        return ServiceLoader.load(TransportProvider.class, loader).stream()
                .map(ServiceLoader.Provider::get)
                .max(Comparator.comparingInt(TransportProvider::priority))
                .orElseThrow(() -> new NoTransportProviderException("Transport.open failed: no "
                        + TransportProvider.class.getName() + " is registered on the class path (looked for "
                        + SERVICE_FILE + "); add the dependency org.stagecrew:stagecrew-transport-netty, and in a"
                        + " shaded jar merge the service files"));
    }
}
