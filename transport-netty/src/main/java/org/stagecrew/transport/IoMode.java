package org.stagecrew.transport;

/**
 * How a transport performs its I/O. Every socket mode speaks the same wire protocol, so units using
 * different modes talk to each other. {@link #isAvailable()} says whether a mode runs here and
 * {@link #unavailabilityCause()} why not; opening a transport with an unavailable mode fails with
 * that reason.
 */
public enum IoMode {
    /** Epoll on Linux, kqueue on macOS and the BSDs (when Netty's native library loads), else {@link #NIO}. */
    AUTO,
    /** Netty's native epoll transport; Linux only. Supports abstract-namespace addresses. */
    EPOLL,
    /** Netty's native kqueue transport; macOS and the BSDs only. */
    KQUEUE,
    /** Netty's native io_uring transport; Linux 5.14+ with io_uring permitted. Supports abstract-namespace addresses. */
    IO_URING,
    /** The JDK's own Unix Domain Sockets (JDK 16+) through Netty's NIO channels; everywhere, socket files only. */
    NIO,
    /**
     * In-JVM channels (Netty's {@code LocalChannel}): no socket, no file, same pipeline and codec.
     * Only transports in the same JVM and in LOCAL mode can reach each other. For fast,
     * deterministic unit tests.
     */
    LOCAL;

    /** Returns whether this mode can run on this machine; always true for AUTO, NIO and LOCAL. */
    public boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    /**
     * Returns why this mode cannot run here, or {@code null} if it can.
     *
     * @throws NoTransportProviderException if no implementation is on the class path
     */
    public Throwable unavailabilityCause() {
        return TransportProviders.provider().unavailabilityCause(this);
    }

    /** Returns whether this mode binds sockets in the file system (all but LOCAL). */
    public boolean usesSocketFiles() {
        return this != LOCAL;
    }
}
