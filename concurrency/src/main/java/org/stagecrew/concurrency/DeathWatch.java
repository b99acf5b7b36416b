package org.stagecrew.concurrency;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ControlConnection;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.UnknownAddressException;
import org.stagecrew.transport.netty.NettyTransports;

/**
 * Learns of the death of a peer this JVM did not start (a daemon, another service): the owner of
 * an address is the pid written in its lock file ({@code <socket file>.lock}), and the OS says when
 * that process ends. For units this JVM started, {@link Concurrency#onExit()} says more (the exit
 * status).
 *
 * <p>A process of this JVM's children is reported as soon as it is reaped; any other is checked
 * every {@value #POLL_MILLIS} ms on one shared daemon thread (the JDK's own watch of a non-child
 * polls with a delay that grows to 5 s), comparing the process's start time too, so a reused pid
 * is not mistaken for the peer.
 *
 * <p>Besides, a watch holds a CONTROL connection open to the peer's transport (see {@link
 * NettyTransports#connectControl}): when it ends without a {@code SHUTTING_DOWN} notice (killed or
 * crashed) or with one (its transport closed in order), the watch fires at once, before the OS
 * check would. Whichever comes first completes the future, exactly once. A peer that does not take
 * the connection (protocol version 1 only, its peer policy or connection cap refuses it, stopped)
 * is watched through the OS alone. {@link #watch} waits up to one second for the peer to accept. The connection counts against the peer's connection cap and is
 * closed when the watch ends. Thread-safe.
 */
public final class DeathWatch {
    private static final Logger LOG = LoggerFactory.getLogger(DeathWatch.class);
    /** How long a watch waits for the peer to accept its control connection before it relies on the OS alone. */
    static final Duration CONTROL_TIMEOUT = Duration.ofSeconds(5);
    /** How long {@link #watch} itself waits for that: a live local peer answers within milliseconds. */
    static final long CONTROL_WAIT_MILLIS = 1_000;

    /** How often a process that is not our child is checked. */
    static final long POLL_MILLIS = 50;

    private static final ScheduledExecutorService POLLER = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread t = new Thread(task, "stagecrew-death-watch");
        t.setDaemon(true);
        return t;
    });

    private DeathWatch() {
    }

    /**
     * Watches the process that owns {@code address} now. The future completes when that process has
     * ended (at once if it already has); cancelling it ends the watch. Actions attached without an
     * executor run on the watch thread or a JDK reaper thread and must not block.
     *
     * @throws UnknownAddressException if the address has no lock file naming a process (an abstract
     *     name, or no transport ever bound it)
     * @throws IllegalArgumentException if a transport of this JVM owns the address: use the unit's
     *     {@link Concurrency#onExit()}
     */
    public static CompletableFuture<PeerDeath> watch(Address address) {
        Objects.requireNonNull(address, "address");
        if (address.isAbstract()) {
            throw new UnknownAddressException("watch of " + address + " failed: an abstract address has no lock file"
                    + " naming its owner; watch a file-backed address");
        }
        OptionalLong owner = NettyTransports.ownerPid(address.toPath());
        if (owner.isEmpty()) {
            throw new UnknownAddressException("watch of " + address + " failed: its lock file " + address.path()
                    + ".lock does not exist or names no process; is the address right and its owner started?");
        }
        long pid = owner.getAsLong();
        if (pid == ProcessHandle.current().pid()) {
            throw new IllegalArgumentException("watch of " + address + " failed: this JVM owns that address; use the unit's"
                    + " Concurrency.onExit() instead");
        }
        CompletableFuture<PeerDeath> death = new CompletableFuture<>();
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty() || !handle.get().isAlive()) {
            death.complete(death(address, pid));
            return death;
        }
        watchConnection(address, pid, death);
        ProcessHandle process = handle.get();
        boolean child = ProcessHandle.current().children().anyMatch(process::equals);
        if (child) {
            process.onExit().thenRun(() -> death.complete(death(address, pid)));
        } else {
            ScheduledFuture<?> poll = POLLER.scheduleWithFixedDelay(() -> {
                if (!process.isAlive()) {
                    death.complete(death(address, pid));
                }
            }, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
            death.whenComplete((d, e) -> poll.cancel(false));
        }
        return death;
    }

    /** Like {@link #watch(Address)}, but the future fails with a {@link java.util.concurrent.TimeoutException} after {@code timeout}. */
    public static CompletableFuture<PeerDeath> watch(Address address, Duration timeout) {
        return watch(address).orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Opens the control connection; its end completes {@code death} unless the OS check came first.
     * Waits up to {@value #CONTROL_WAIT_MILLIS} ms for the peer to accept it, so that a watch that has
     * returned sees every close that follows; a slower peer is connected to in the background.
     */
    private static void watchConnection(Address address, long pid, CompletableFuture<PeerDeath> death) {
        CompletableFuture<ControlConnection> connecting = NettyTransports.connectControl(address, CONTROL_TIMEOUT);
        death.whenComplete((d, e) -> connecting.thenAccept(ControlConnection::close));
        connecting.whenComplete((control, failure) -> {
            if (control == null) {
                LOG.debug("watch of {} (pid {}) relies on the OS alone: no control connection ({})", address, pid,
                        failure.getCause() != null ? failure.getCause().getMessage() : failure.toString());
                return;
            }
            control.ended().thenAccept(cause -> {
                PeerDeath end = connectionEnded(address, pid, cause);
                if (end != null) {
                    death.complete(end);
                }
            });
        });
        try {
            connecting.get(CONTROL_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // refused, or not answered yet: the OS check watches meanwhile, and the connection may still come
        }
    }

    /** The death that the end of the control connection tells, or null if it tells none (a protocol error: the OS check decides). */
    static PeerDeath connectionEnded(Address address, long pid, TransportException cause) {
        String owner = "process " + pid + ", owner of " + address;
        if (cause instanceof PeerDiedException) {
            return new PeerDeath(address, pid, false, owner + ", ended without closing its transport (killed or crashed):"
                    + " the watch's control connection dropped without a notice");
        }
        if (cause instanceof TransportClosedException) {
            return new PeerDeath(address, pid, true, owner + ", closed its transport (graceful close: it sent SHUTTING_DOWN"
                    + " on the watch's control connection)");
        }
        LOG.warn("watch of {} (pid {}) lost its control connection without learning of a death; the OS check goes on: {}",
                address, pid, cause.getMessage());
        return null;
    }

    private static PeerDeath death(Address address, long pid) {
        boolean closed = !Files.exists(address.toPath(), LinkOption.NOFOLLOW_LINKS);
        return new PeerDeath(address, pid, closed, "process " + pid + ", owner of " + address + ", ended "
                + (closed ? "after closing its transport" : "without closing its transport (killed or crashed)"));
    }
}
