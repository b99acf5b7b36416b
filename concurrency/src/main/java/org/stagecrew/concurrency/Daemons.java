package org.stagecrew.concurrency;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
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
     * until its socket file is gone (it unlinks it on a clean stop).
     *
     * @param unit the unit's address, as its starter's {@link Concurrency#address()} gave it
     * @param config where to open the short-lived transport that sends the request (its socket
     *     directory and I/O mode)
     * @return whether the unit stopped within the timeout
     */
    public static boolean stop(Address unit, TransportConfig config, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!requestStop(Control.controlAddress(unit), config, timeout)) {
            return false;
        }
        if (unit.isAbstract()) {
            return true; // no file to watch; the request was written
        }
        while (Files.exists(unit.toPath(), LinkOption.NOFOLLOW_LINKS)) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        return true;
    }

    /** Sends STOP to a control address; returns whether it was written within the timeout. */
    static boolean requestStop(Address control, TransportConfig config, Duration timeout) {
        TransportConfig sender = config.toBuilder().fileName(null).fileNamePrefix("stagecrew-stop-").build();
        try (Transport transport = Transport.open(sender)) {
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
