package org.stagecrew.transport.netty;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.IdentityHashMap;
import java.util.Iterator;

/**
 * The calling thread's appenders, one per connection it has sent small frames on. Most threads send
 * to one destination at a time, so the last one used is found without a map lookup.
 *
 * <p>Entries of failed connections are dropped as new ones are added, so a thread that talked to
 * many short-lived transports keeps only the live ones (and the most recent) reachable.
 */
final class Appenders {
    private static final FastThreadLocal<Appenders> OF_THREAD = new FastThreadLocal<>() {
        @Override
        protected Appenders initialValue() {
            return new Appenders();
        }
    };

    private OutboundConnection lastConnection;
    private Appender last;
    private final IdentityHashMap<OutboundConnection, Appender> all = new IdentityHashMap<>();

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
        return connection == lastConnection ? last : all.get(connection);
    }

    private Appender appenderFor(OutboundConnection connection) {
        if (connection == lastConnection) {
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
        lastConnection = connection;
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
