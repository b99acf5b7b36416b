package org.stagecrew.transport;

/**
 * No {@link org.stagecrew.transport.spi.TransportProvider} is registered on the class path, so no
 * transport can be opened. Add {@code org.stagecrew:stagecrew-transport-netty} (it registers its
 * provider in {@code META-INF/services}); a shaded jar must merge its service files.
 */
public class NoTransportProviderException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the service file looked for. */
    public NoTransportProviderException(String message) {
        super(message);
    }
}
