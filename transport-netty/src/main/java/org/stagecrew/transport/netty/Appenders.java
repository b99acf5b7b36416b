package org.stagecrew.transport.netty;

import io.netty.util.concurrent.FastThreadLocal;
import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.WeakHashMap;

/**
 * The calling thread's appenders, one per connection it has sent small frames on. Most threads send
 * to one destination at a time, so the last one used is found without a map lookup.
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
            appender = new Appender();
            all.put(connection, appender);
        }
        lastConnection = new WeakReference<>(connection);
        last = appender;
        return appender;
    }

    /** One thread's current segment on one connection. Used by that thread only. */
    static final class Appender {
        /** The segment frames are appended to, or null before the first frame and after a seal. */
        Segment segment;
        /** Capacity for the next segment, learned from how much of the previous one was used. */
        int nextCapacity;
    }
}
