package org.stagecrew.transport.netty;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;

/**
 * The transport's JDK Flight Recorder events, and the one place that commits them. Each event is
 * about one connection (never one frame) and names the local address, the peer's address and the
 * peer's pid where known (-1 where not). While JFR is off or an event is disabled, a call costs one
 * check of {@link EventType#isEnabled()} and builds nothing. Thread-safe.
 *
 * <p>Event names: {@code stagecrew.ConnectionEstablished}, {@code stagecrew.ConnectionLost},
 * {@code stagecrew.ConnectionRefused}, {@code stagecrew.ProtocolError}, {@code
 * stagecrew.BackPressureStall} (a blocking send that waited for room; threshold 10 ms by default).
 */
final class Jfr {
    /** The notice code of an event without a notice (the connection ended without one). */
    static final int NO_NOTICE = -1;

    private static final EventType ESTABLISHED = EventType.getEventType(ConnectionEstablished.class);
    private static final EventType LOST = EventType.getEventType(ConnectionLost.class);
    private static final EventType REFUSED = EventType.getEventType(ConnectionRefused.class);
    private static final EventType PROTOCOL_ERROR = EventType.getEventType(ProtocolError.class);
    private static final EventType STALL = EventType.getEventType(BackPressureStall.class);

    private Jfr() {
    }

    /** Fields every connection event carries. */
    abstract static class ConnectionEvent extends Event {
        @Label("Local Address")
        String localAddress;
        @Label("Peer Address")
        String peerAddress;
        @Label("Peer Pid")
        @Description("The peer's process id: kernel-verified for inbound connections, from its lock file for outbound ones; -1 if unknown")
        long peerPid;
        @Label("Inbound")
        @Description("Whether the peer connected to us (true) or we to it (false)")
        boolean inbound;

        void set(Address local, Address peer, long pid, boolean isInbound) {
            localAddress = String.valueOf(local);
            peerAddress = peer == null ? "" : peer.toString();
            peerPid = pid;
            inbound = isInbound;
        }
    }

    @Name("stagecrew.ConnectionEstablished")
    @Label("Connection Established")
    @Category({"stagecrew", "Transport"})
    @StackTrace(false)
    static final class ConnectionEstablished extends ConnectionEvent {
    }

    @Name("stagecrew.ConnectionLost")
    @Label("Connection Lost")
    @Category({"stagecrew", "Transport"})
    @StackTrace(false)
    static final class ConnectionLost extends ConnectionEvent {
        @Label("Reason")
        String reason;
        @Label("Notice Code")
        @Description("The peer's last notice (5 PROTOCOL_ERROR, 6 SHUTTING_DOWN), or -1 if the connection ended without one")
        int noticeCode;
    }

    @Name("stagecrew.ConnectionRefused")
    @Label("Connection Refused")
    @Category({"stagecrew", "Transport"})
    @StackTrace(false)
    static final class ConnectionRefused extends ConnectionEvent {
        @Label("Reason")
        String reason;
        @Label("Notice Code")
        @Description("The rejecting notice (1 UNSUPPORTED_VERSION, 2 NOT_ALLOWED, 3 TOO_MANY_CONNECTIONS, 4 MALFORMED_HELLO)")
        int noticeCode;
    }

    @Name("stagecrew.ProtocolError")
    @Label("Protocol Error")
    @Category({"stagecrew", "Transport"})
    @StackTrace(false)
    static final class ProtocolError extends ConnectionEvent {
        @Label("Reason")
        String reason;
    }

    @Name("stagecrew.BackPressureStall")
    @Label("Back-Pressure Stall")
    @Description("A blocking send that waited for room on a back-pressured connection")
    @Category({"stagecrew", "Transport"})
    @Threshold("10 ms")
    static final class BackPressureStall extends ConnectionEvent {
        @Label("Queued Bytes")
        @Description("Bytes queued on the connection when the wait began")
        long queuedBytes;
    }

    static void established(Address local, Address peer, PeerCredentials credentials, boolean inbound) {
        if (ESTABLISHED.isEnabled()) {
            ConnectionEstablished e = new ConnectionEstablished();
            if (e.shouldCommit()) {
                e.set(local, peer, pid(peer, credentials, inbound), inbound);
                e.commit();
            }
        }
    }

    static void lost(Address local, Address peer, PeerCredentials credentials, boolean inbound, int noticeCode, String reason) {
        if (LOST.isEnabled()) {
            ConnectionLost e = new ConnectionLost();
            if (e.shouldCommit()) {
                e.set(local, peer, pid(peer, credentials, inbound), inbound);
                e.noticeCode = noticeCode;
                e.reason = reason;
                e.commit();
            }
        }
    }

    static void refused(Address local, Address peer, PeerCredentials credentials, boolean inbound, int noticeCode, String reason) {
        if (REFUSED.isEnabled()) {
            ConnectionRefused e = new ConnectionRefused();
            if (e.shouldCommit()) {
                e.set(local, peer, pid(peer, credentials, inbound), inbound);
                e.noticeCode = noticeCode;
                e.reason = reason;
                e.commit();
            }
        }
    }

    static void protocolError(Address local, Address peer, PeerCredentials credentials, boolean inbound, String reason) {
        if (PROTOCOL_ERROR.isEnabled()) {
            ProtocolError e = new ProtocolError();
            if (e.shouldCommit()) {
                e.set(local, peer, pid(peer, credentials, inbound), inbound);
                e.reason = reason;
                e.commit();
            }
        }
    }

    /** A stall that began now, or null while the event is disabled; give it to {@link #stallEnded}. */
    static BackPressureStall stallBegins() {
        if (!STALL.isEnabled()) {
            return null;
        }
        BackPressureStall e = new BackPressureStall();
        e.begin();
        return e;
    }

    /** Commits {@code stall} (from {@link #stallBegins}) if it lasted past the threshold. */
    static void stallEnded(BackPressureStall stall, Address local, Address peer, long queuedBytes) {
        if (stall == null) {
            return;
        }
        stall.end();
        if (stall.shouldCommit()) {
            stall.set(local, peer, pid(peer, null, false), false);
            stall.queuedBytes = queuedBytes;
            stall.commit();
        }
    }

    /** Inbound: the kernel's word; outbound: the pid in the destination's lock file, read only here. */
    private static long pid(Address peer, PeerCredentials credentials, boolean inbound) {
        if (credentials != null && credentials.pid() > 0) {
            return credentials.pid();
        }
        if (!inbound && peer != null && !peer.isAbstract()) {
            return AddressLock.ownerPid(peer.toPath()).orElse(-1);
        }
        return -1;
    }
}
