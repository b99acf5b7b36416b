package org.stagecrew.transport.netty;

import java.util.ArrayList;
import java.util.List;
import org.stagecrew.transport.Transport;

/** Closes every transport added to it, for tests that open a variable number of them. */
final class OpenTransports implements AutoCloseable {
    private final List<Transport> transports = new ArrayList<>();

    /** Remembers {@code transport} for closing and returns it. */
    Transport add(Transport transport) {
        transports.add(transport);
        return transport;
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (int i = transports.size() - 1; i >= 0; i--) {
            try {
                transports.get(i).close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
