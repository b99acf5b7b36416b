package org.stagecrew.transport.netty;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.Objects;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ControlConnection;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Opens Netty-based transports; {@link Transport#open(TransportConfig)} delegates here through
 * {@link NettyTransportProvider}. Use that
 * method rather than this class.
 */
public final class NettyTransports {
    private NettyTransports() {
    }

    /**
     * Binds a transport as {@link Transport#open(TransportConfig)} documents.
     *
     * @throws org.stagecrew.transport.AddressInUseException if another transport owns the address or
     *     a live listener holds the socket file
     * @throws org.stagecrew.transport.TransportException if the socket directory is unsafe or the
     *     I/O mode is unavailable
     * @throws org.stagecrew.transport.UnsupportedNettyVersionException if the class path has Netty 4.1
     */
    public static Transport open(TransportConfig config) {
        NettyVersions.warnOnceIfMixed();
        NettyVersions.requireIoEventLoops("Transport.open");
        return NettyTransport.open(config);
    }

    /**
     * Removes the socket file at {@code socketFile} and its lock file ({@code <socketFile>.lock}) if
     * nobody owns the address: for a parent that killed a child process, which could not unlink its
     * own files. Takes the address lock first, so that the files of a new owner (a restarted child)
     * are never removed; a listener that still accepts connections is left alone too (the listener of
     * an io_uring process is waited for up to 2 s after a SIGKILL, until the kernel has closed it).
     * Thread-safe; never call it for an address a transport of this JVM owns (it returns false).
     *
     * @return true if nobody owns the address now (the files were removed or absent); false if a
     *     transport, another process or a live listener holds it (nothing touched)
     * @throws org.stagecrew.transport.TransportException if the directory is missing, or the path
     *     holds something other than a socket
     */
    public static boolean unlinkIfUnowned(Path socketFile) {
        return AddressLock.unlinkIfUnowned(Objects.requireNonNull(socketFile, "socketFile"));
    }

    /**
     * The pid of the process that owns (or last owned) the address at {@code socketFile}, as written
     * in its lock file {@code <socketFile>.lock}; read without locking, so it never disturbs the
     * owner or a binder. Empty if there is no lock file or no pid in it. The process may have died
     * since: check {@link ProcessHandle#of(long)}. Thread-safe.
     */
    public static java.util.OptionalLong ownerPid(Path socketFile) {
        return AddressLock.ownerPid(Objects.requireNonNull(socketFile, "socketFile"));
    }

    /**
     * Opens a {@link ControlConnection} to the transport at {@code peer}: a
     * connection of the CONTROL kind (hello version 2), which the peer's transport accepts under its
     * peer policy and connection cap like any other, and over which it answers pings itself. Needs
     * no transport of ours; the connection runs on a shared one-thread event loop group (daemon).
     * Thread-safe.
     *
     * @return a future that completes once the peer accepted, or fails within {@code timeout} with
     *     {@link org.stagecrew.transport.UnknownAddressException} (no socket file), {@link
     *     org.stagecrew.transport.ConnectionRefusedException} (a stale file: nothing listens), {@link
     *     org.stagecrew.transport.PeerRejectedException} (refused by the peer, e.g. code 2 NOT_ALLOWED
     *     by its policy, or code 1 UNSUPPORTED_VERSION from a peer that speaks version 1 only), or
     *     {@link org.stagecrew.transport.TransportTimeoutException} (no answer to the hello)
     */
    public static CompletableFuture<ControlConnection> connectControl(Address peer, Duration timeout) {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(timeout, "timeout");
        NettyVersions.warnOnceIfMixed();
        return ControlClient.connect(peer, timeout);
    }

    /**
     * The counters that the transport bound at {@code socketFile} keeps in its counters file {@code
     * <socketFile>.counters}, read without connecting and without locking: it works while the owner
     * is busy, hung or stopped (SIGSTOP), and shows the last counters of an owner that died without
     * removing the file (check {@link #ownerPid} and the address lock to tell). Empty if there is
     * no counters file (no transport there, an abstract or in-JVM address, or one whose file could
     * not be created). Thread-safe.
     *
     * @throws org.stagecrew.transport.TransportException if the file cannot be read or is not a
     *     stagecrew counters file of this version
     */
    public static java.util.Optional<org.stagecrew.transport.TransportStats> readCounters(Path socketFile) {
        Path file = CounterMemory.fileOf(Objects.requireNonNull(socketFile, "socketFile"));
        return CounterSnapshots.readFile(file).map(CounterSnapshots.FileSnapshot::stats);
    }
}
