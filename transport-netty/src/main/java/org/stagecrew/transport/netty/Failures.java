package org.stagecrew.transport.netty;

import io.netty.channel.ConnectTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.Locale;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.ConnectionRefusedException;
import org.stagecrew.transport.DeliveryTimeoutException;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.UnknownAddressException;

/**
 * Turns the exceptions of Netty and the JDK (errno texts that differ between epoll and NIO) into
 * the transport's typed exceptions, in one place.
 */
final class Failures {
    private Failures() {
    }

    static TransportException connectFailed(Address destination, boolean fileBacked, Throwable cause) {
        if (cause instanceof TransportException) {
            return (TransportException) cause;
        }
        if (!fileBacked && (cause instanceof ConnectException || mentions(cause, "refused"))) {
            // No file to look at: for an abstract or in-JVM name, refused means nobody is bound to it.
            return new UnknownAddressException("send to " + destination + " failed: no listener is bound to that name;"
                    + " the destination has not started, has closed, or the address is wrong", cause);
        }
        if (fileBacked && !Files.exists(destination.toPath(), LinkOption.NOFOLLOW_LINKS)) {
            return new UnknownAddressException("send to " + destination
                    + " failed: no socket file exists at that path; the destination has not started, has closed,"
                    + " or the address is wrong", cause);
        }
        if (cause instanceof ConnectTimeoutException) {
            return new TransportTimeoutException("connect to " + destination + " failed: " + cause.getMessage(), cause);
        }
        if (cause instanceof ConnectException || mentions(cause, "refused")) {
            return new ConnectionRefusedException("send to " + destination + " failed: connection refused; the socket"
                    + " file exists but nothing listens on it (a stale file of a process that died?)", cause);
        }
        return new TransportException("send to " + destination + " failed: could not connect: " + cause, cause);
    }

    /** An established connection failed under us: a reset or broken pipe means the peer went away. */
    static TransportException connectionLost(Address peer, Throwable cause) {
        if (cause instanceof TransportException) {
            return (TransportException) cause;
        }
        if (cause instanceof IOException) {
            return peerDied(peer, String.valueOf(cause.getMessage()), cause);
        }
        return new TransportException("send to " + peer + " failed: " + cause, cause);
    }

    /**
     * No memory for {@code what} the send needed; {@code outcome} says what became of the frame. The
     * cause is kept: Netty's {@code OutOfDirectMemoryError} names the bytes in use and the limit.
     */
    static TransportException noMemory(Address destination, String what, String outcome, OutOfMemoryError cause) {
        return new TransportException("send to " + destination + " failed: no memory for " + what + " (" + cause.getMessage()
                + "); " + outcome + ". Lower writeBufferWaterMark (held per destination and sending transport) or raise"
                + " -XX:MaxDirectMemorySize", cause);
    }

    /** A handed-over payload (or a buffer under it) released by its owner before the event loop read it: that frame fails alone. */
    static TransportException releasedPayload(Address destination, int length) {
        return new TransportException("send to " + destination + " failed: the " + length + "-byte payload (or a buffer under"
                + " it) was released by its owner after send() took it (the transport owns a handed-over buffer; release it only if"
                + " send() was not called, or use the copying send); the frame was dropped, the connection goes on");
    }

    /** A handed-over payload whose bytes could not be read: that frame fails, the connection goes on. */
    static TransportException unreadablePayload(Address destination, int length, RuntimeException cause) {
        return new TransportException("send to " + destination + " failed: the " + length + "-byte payload could not be read ("
                + cause + "); the frame was dropped, the connection goes on", cause);
    }

    /** An acknowledged stream's destination stayed unreachable for its whole redelivery {@code window}. */
    static DeliveryTimeoutException notAcknowledged(Address destination, Duration window, TransportException last) {
        String within = window.toMillis() % 1000 == 0 ? window.toSeconds() + " s" : window.toMillis() + " ms";
        return new DeliveryTimeoutException("not acknowledged by " + destination + " within " + within
                + "; the destination is down" + (last != null ? " (" + last.getMessage() + ")" : ""), last);
    }

    /** The peer's connection ended without a notice; names the pid in its lock file if there is one. */
    static TransportException peerDied(Address peer, String how, Throwable cause) {
        long pid = -1;
        if (!peer.isAbstract()) {
            pid = AddressLock.ownerPid(peer.toPath()).orElse(-1);
        }
        return new PeerDiedException(peer, pid, how, cause);
    }

    /**
     * The failure of the one frame that a failed write cut in two: {@code written} of its {@code
     * length} bytes (header included) reached the socket, so the destination got an incomplete frame,
     * which it drops.
     */
    static TransportException cutByFailure(Address peer, TransportException cause, long written, long length) {
        if (cause instanceof PeerDiedException) { // keep the type: the sender must still learn that the peer died
            return new PeerDiedException(peer, ((PeerDiedException) cause).pid().orElse(-1), "the frame being written was cut"
                    + " after " + written + " of its " + length + " bytes (4-byte header included), and the destination"
                    + " never got it whole", cause);
        }
        return new TransportClosedException("send to " + peer + " failed: the connection ended after " + written + " of"
                + " this frame's " + length + " bytes (4-byte header included) were written; the destination drops the"
                + " incomplete frame (" + cause.getMessage() + ")", cause);
    }

    /**
     * A peer for a log line: its address and, for a socket file, the pid in its lock file, e.g.
     * {@code /run/x.sock (pid 4242)}. Reads the lock file: for rare lines, never per frame.
     */
    static String describe(Address peer) {
        long pid = peer.isAbstract() ? -1 : AddressLock.ownerPid(peer.toPath()).orElse(-1);
        return pid > 0 ? peer + " (pid " + pid + ")" : peer + " (pid unknown)";
    }

    /**
     * For an acknowledged stream ({@link AckedConnection}): a cause that no reconnect can cure, worded
     * for the sender; null for one that may pass (the destination down, closing, or busy).
     */
    static TransportException endingStream(Address destination, TransportException cause) {
        if (cause instanceof PeerRejectedException) {
            PeerRejectedException rejected = (PeerRejectedException) cause;
            if (rejected.code() == Protocol.UNSUPPORTED_VERSION) {
                return new PeerRejectedException(destination, rejected.code(), "UNSUPPORTED_VERSION", "the destination speaks only"
                        + " protocol 1, and acknowledged delivery needs protocol 2; send to it with Delivery.written()"
                        + " (it said: " + rejected.reason() + ")");
            }
            return rejected.code() == Protocol.TOO_MANY_CONNECTIONS ? null : rejected;
        }
        return cause instanceof ProtocolException ? cause : null;
    }

    static TransportException bindFailed(Address address, boolean inJvm, Throwable cause) {
        if (cause instanceof TransportException) {
            return (TransportException) cause;
        }
        if (mentions(cause, "in use")) {
            String holder = inJvm
                    ? "another LOCAL transport of this JVM is bound to that name"
                    : address.isAbstract() ? "a live listener holds that abstract name" : "the socket file is held by a live listener";
            return new AddressInUseException("bind failed for " + address + ": " + holder
                    + "; stop that process or choose another name", cause);
        }
        return new TransportException("bind failed for " + address + ": " + cause, cause);
    }

    private static boolean mentions(Throwable cause, String text) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String message = t.getMessage();
            if (message != null && message.toLowerCase(Locale.ROOT).contains(text)) {
                return true;
            }
        }
        return false;
    }
}
