package org.stagecrew.concurrency;

import java.io.InterruptedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;

/** The {@link TaskContext} of thread units and of the task inside a process unit. */
final class SimpleTaskContext implements TaskContext {
    private final String name;
    private final Transport transport;
    private final Address parent;
    private final List<Address> peers;
    private final List<String> arguments;
    private final Logger logger;
    private volatile boolean stopRequested;
    private final java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);

    SimpleTaskContext(String name, Transport transport, Address parent, List<Address> peers, List<String> arguments) {
        this.name = name;
        this.transport = transport;
        this.parent = parent;
        this.peers = List.copyOf(peers);
        this.arguments = List.copyOf(arguments);
        this.logger = LoggerFactory.getLogger("org.stagecrew.unit." + name);
    }

    void requestStop() {
        stopRequested = true;
        stop.countDown();
    }

    /**
     * Whether {@code thrown}, which ended the task, is how it noticed a stop request: the request was
     * made and the exception is (or is caused by) an interruption or the closing of its transport.
     * Anything else thrown while stopping is a failure, reported as such.
     */
    boolean endedByStop(Throwable thrown) {
        if (!stopRequested) {
            return false;
        }
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof InterruptedException || t instanceof InterruptedIOException || t instanceof ClosedByInterruptException
                    || t instanceof TransportClosedException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Transport transport() {
        return transport;
    }

    @Override
    public Address parent() {
        return parent;
    }

    @Override
    public List<Address> peers() {
        return peers;
    }

    @Override
    public List<String> arguments() {
        return arguments;
    }

    @Override
    public Logger logger() {
        return logger;
    }

    @Override
    public boolean isStopRequested() {
        return stopRequested;
    }

    @Override
    public boolean awaitStop(java.time.Duration timeout) throws InterruptedException {
        try {
            return stop.await(timeout.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            if (stopRequested) {
                return true; // the interrupt that comes with the stop request
            }
            throw e;
        }
    }
}
