package org.stagecrew.transport.netty;

import io.netty.util.concurrent.FastThreadLocal;
import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.WeakHashMap;
import org.stagecrew.transport.Address;

/**
 * The calling thread's appenders, one per connection it has sent on. Most threads send to one
 * destination at a time, so the last one used is found without a map lookup, and so is the
 * connection itself ({@link #recent}).
 *
 * <p>Connections are held weakly, so a thread keeps no closed transport reachable; entries of
 * failed connections are also dropped as new ones are added.
 */
final class Appenders {
    private static final FastThreadLocal<Appenders> OF_THREAD = new FastThreadLocal<>() {
        @Override
        protected Appenders initialValue() {
            return new Appenders();
        }
    };

    private WeakReference<OutboundConnection> lastConnection = new WeakReference<>(null);
    private Appender last;
    /** By connection; {@code OutboundConnection} keeps identity equality, so this is an identity map. */
    private final WeakHashMap<OutboundConnection, Appender> all = new WeakHashMap<>();

    private Appenders() {
    }

    /** The calling thread's appender for {@code connection}, created on first use. */
    static Appender of(OutboundConnection connection) {
        return OF_THREAD.get().appenderFor(connection);
    }

    /**
     * The calling thread's most recent connection, if it belongs to {@code transport}, goes to
     * {@code destination} (the same object or an equal one) and has not failed; else null. Kept per
     * thread, so that senders on different threads neither share nor overwrite it.
     */
    static OutboundConnection recent(NettyTransport transport, Address destination) {
        Appenders appenders = OF_THREAD.getIfExists();
        OutboundConnection connection = appenders == null ? null : appenders.lastConnection.get();
        if (connection == null || connection.transport() != transport || connection.failure() != null) {
            return null;
        }
        Address to = connection.destination();
        return to == destination || to.equals(destination) ? connection : null;
    }

    /** The calling thread's appender for {@code connection}, or null if it never appended there. */
    static Appender existing(OutboundConnection connection) {
        Appenders appenders = OF_THREAD.getIfExists();
        return appenders == null ? null : appenders.lookup(connection);
    }

    private Appender lookup(OutboundConnection connection) {
        return connection == lastConnection.get() ? last : all.get(connection);
    }

    private Appender appenderFor(OutboundConnection connection) {
        if (connection == lastConnection.get()) {
            return last;
        }
        Appender appender = all.get(connection);
        if (appender == null) {
            for (Iterator<OutboundConnection> it = all.keySet().iterator(); it.hasNext(); ) {
                if (it.next().failure() != null) {
                    it.remove();
                }
            }
            appender = new Appender(connection);
            all.put(connection, appender);
        }
        lastConnection = appender.connection; // no allocation when a thread alternates between destinations
        last = appender;
        return appender;
    }

    /** One thread's current segment on one connection. Used by that thread only. */
    static final class Appender {
        /** The connection, held weakly like the map's key. */
        final WeakReference<OutboundConnection> connection;
        /** The segment frames are appended to, or null before the first frame and after a seal. */
        Segment segment;
        /** Capacity for the next segment, learned from how much of the previous one was used. */
        int nextCapacity;

        Appender(OutboundConnection connection) {
            this.connection = new WeakReference<>(connection);
        }
    }
}
