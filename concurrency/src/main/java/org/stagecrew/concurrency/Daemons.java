package org.stagecrew.concurrency;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Reaching process and daemon units by address alone, from any JVM: for a daemon started by a JVM
 * that has since exited.
 */
public final class Daemons {
    private static final Logger LOG = LoggerFactory.getLogger(Daemons.class);

    private Daemons() {
    }

    /**
     * Asks the unit at {@code unit} to stop, over the transport, and waits up to {@code timeout}
     * until its JVM has exited: the unit answers the request with its process id, and this waits for
     * that process.
     *
     * @param unit the unit's address, as its starter's {@link Concurrency#address()} gave it
     * @param config where to open the short-lived transport that sends the request (its socket
     *     directory and I/O mode)
     * @return whether the unit's process ended within the timeout; false if no unit listens at that
     *     address or it did not answer
     */
    public static boolean stop(Address unit, TransportConfig config, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Address control = Control.controlAddress(unit);
        TransportConfig sender = config.toBuilder().fileName(null).fileNamePrefix("stagecrew-stop-").build();
        try (Transport transport = Transport.open(sender)) {
            if (!requestStop(transport, control, timeout)) {
                return false;
            }
            OptionalLong pid = awaitStopping(transport, control, deadline);
            if (pid.isEmpty()) {
                LOG.info("stop request to {}: no answer with a process id within {} ms", control, timeout.toMillis());
                return false;
            }
            Optional<ProcessHandle> process = ProcessHandle.of(pid.getAsLong());
            if (process.isEmpty()) {
                return true;
            }
            process.get().onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            LOG.info("unit at {} did not exit within {} ms of its stop request", unit, timeout.toMillis());
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException("waiting for the process of " + unit + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits for the {@code STOPPING <pid>} answer from {@code control}; empty if none came by the deadline. */
    private static OptionalLong awaitStopping(Transport transport, Address control, long deadline) {
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return OptionalLong.empty();
            }
            try (Frame frame = transport.receive(Duration.ofNanos(left))) {
                if (frame == null) {
                    return OptionalLong.empty();
                }
                String[] answer = frame.payload().toString(StandardCharsets.UTF_8).split(" ");
                if (control.equals(frame.sender()) && answer.length == 2 && Control.STOPPING.equals(answer[0])) {
                    try {
                        return OptionalLong.of(Long.parseLong(answer[1]));
                    } catch (NumberFormatException e) {
                        LOG.warn("ignored a malformed answer from {}: {}", control, answer[1]);
                    }
                }
            }
        }
    }

    /** Sends STOP to a control address from a short-lived transport; returns whether it was written within the timeout. */
    static boolean requestStop(Address control, TransportConfig config, Duration timeout) {
        TransportConfig sender = config.toBuilder().fileName(null).fileNamePrefix("stagecrew-stop-").build();
        try (Transport transport = Transport.open(sender)) {
            return requestStop(transport, control, timeout);
        }
    }

    private static boolean requestStop(Transport transport, Address control, Duration timeout) {
        try {
            transport.send(control, Control.text(Control.STOP)).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (ExecutionException e) {
            LOG.info("stop request to {} failed: {}", control, e.getCause().getMessage());
            return false;
        } catch (TimeoutException e) {
            LOG.info("stop request to {} was not written within {} ms", control, timeout.toMillis());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
