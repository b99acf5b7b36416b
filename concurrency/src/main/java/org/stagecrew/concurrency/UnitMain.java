package org.stagecrew.concurrency;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Delivery;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * The entry point of a process or daemon unit's JVM; started by {@link Concurrency#process} and
 * {@link Concurrency#daemon}, not by users. It opens the task's transport and a control transport,
 * reports ready to the parent, runs the task on the main thread, and closes both transports on every
 * path: task end, a STOP message, SIGTERM, or the parent's exit (for a non-daemon unit).
 *
 * <p>Exit codes: 0 the task returned, or ended by an interruption or its transport's close after a
 * stop request (STOP, SIGTERM, the parent's exit); 1 it threw otherwise, also while stopping; 2 the
 * unit could not start; 3 the parent exited and the task did not stop in time. On SIGTERM the JVM
 * ends with the task's status (not 143) once the task has ended, within 10 s.
 */
public final class UnitMain {
    private static final Logger LOG = LoggerFactory.getLogger(UnitMain.class);
    private static final Duration GRACE = Duration.ofSeconds(10);
    /** How long a child keeps trying to report READY to a parent that does not answer. */
    private static final Duration READY_DEADLINE = Duration.ofSeconds(120);
    /** The status {@link #run} ended with, for the shutdown hook. */
    private static volatile int status = 2;

    private UnitMain() {
    }

    /** Runs the unit described by {@code args[0]} and exits with its code. */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: UnitMain <spec>; started by org.stagecrew.concurrency.Concurrency, not by hand");
            System.exit(2);
        }
        System.exit(run(UnitSpec.decode(args[0])));
    }

    static int run(UnitSpec spec) {
        CountDownLatch finished = new CountDownLatch(1);
        int code = 2;
        try {
            code = runUnit(spec, finished);
        } finally {
            status = code;
            finished.countDown();
        }
        return code;
    }

    private static int runUnit(UnitSpec spec, CountDownLatch finished) {
        Task task;
        try {
            task = Class.forName(spec.taskClass).asSubclass(Task.class).getConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.error("unit {} cannot create its task {}", spec.name, spec.taskClass, e);
            return 2;
        }
        Thread main = Thread.currentThread();
        try (Transport transport = Transport.open(spec.transportConfig);
             Transport control = Transport.open(controlConfig(spec.transportConfig, transport.address()))) {
            SimpleTaskContext context = new SimpleTaskContext(spec.name, transport, spec.parent, spec.peers, spec.arguments);
            Runnable requestStop = () -> {
                context.requestStop();
                main.interrupt();
            };
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (finished.getCount() > 0) {
                    LOG.info("unit {} received a termination signal; stopping", spec.name);
                    requestStop.run();
                }
                if (await(finished, GRACE)) {
                    // The JVM would exit with 128 + the signal, and System.exit blocks while hooks run: end it with the
                    // task's own status, so that a task that stopped cleanly on SIGTERM reports 0.
                    Runtime.getRuntime().halt(status);
                }
            }, spec.name + "-shutdown"));
            startControlThread(spec, control, requestStop);
            if (!spec.daemon) {
                watchParent(spec, requestStop, finished);
            }
            if (!reportReady(spec, transport, control)) {
                return 2;
            }
            LOG.info("unit {} ready at {} (pid {})", spec.name, transport.address(), ProcessHandle.current().pid());
            try {
                task.run(context);
                return 0;
            } catch (Throwable t) {
                if (context.endedByStop(t)) {
                    LOG.info("unit {} ended after a stop request: {}", spec.name, t.toString());
                    return 0;
                }
                LOG.error("unit {} failed{}", spec.name, context.isStopRequested() ? " while stopping" : "", t);
                return 1;
            } finally {
                // Frames the task sent just before it ended (a last reply) are written, not failed by the close.
                Thread.interrupted();
                if (!transport.flush(GRACE)) {
                    LOG.warn("unit {} ended with frames its destinations did not take within {} s; they fail",
                            spec.name, GRACE.toSeconds());
                }
                // And the STOPPING answer to a stop request, whose connection may still be opening: closing the
                // control transport first failed it, and Daemons.stop then waited its whole timeout for the pid.
                if (!control.flush(GRACE)) {
                    LOG.warn("unit {} ended before its control answer was written within {} s", spec.name, GRACE.toSeconds());
                }
            }
        } catch (TransportException e) {
            LOG.error("unit {} could not start: {}", spec.name, e.getMessage(), e);
            return 2;
        }
    }

    /**
     * Sends READY to the parent's handshake address and waits until it is written. On a loaded
     * machine the parent may not answer our hello within the connect timeout: that attempt fails, and
     * we try again until {@link #READY_DEADLINE}, rather than leave the parent waiting for a READY that
     * was dropped. Any other failure is logged and the task runs on, as a lost READY always did: the
     * parent's start timeout then kills the unit. Returns false (the unit exits with 2) only if
     * interrupted or if no answer came within the deadline.
     */
    private static boolean reportReady(UnitSpec spec, Transport transport, Transport control) {
        long deadline = System.nanoTime() + READY_DEADLINE.toNanos();
        String ready = Control.READY + " " + UnitSpec.encode(control.address()) + " " + ProcessHandle.current().pid();
        for (int attempt = 1; ; attempt++) {
            try {
                transport.send(spec.handshake, Control.text(ready)).get(READY_DEADLINE.toNanos(), TimeUnit.NANOSECONDS);
                return true;
            } catch (java.util.concurrent.ExecutionException e) {
                boolean retry = e.getCause() instanceof org.stagecrew.transport.TransportTimeoutException
                        || e.getCause() instanceof org.stagecrew.transport.ConnectionRefusedException
                        || e.getCause() instanceof org.stagecrew.transport.PeerRejectedException; // e.g. our hello came too late
                if (!retry || System.nanoTime() > deadline) {
                    // As before: the task runs on; the parent's start timeout kills a unit it never heard from.
                    LOG.error("unit {} could not report ready to {} (attempt {}): {}", spec.name, spec.handshake, attempt,
                            e.getCause().getMessage());
                    return true;
                }
                LOG.warn("unit {}: attempt {} to report ready failed, trying again: {}", spec.name, attempt, e.getCause().getMessage());
            } catch (java.util.concurrent.TimeoutException e) {
                LOG.error("unit {} could not report ready to {} within {} s", spec.name, spec.handshake, READY_DEADLINE.toSeconds());
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    private static TransportConfig controlConfig(TransportConfig config, Address unit) {
        String fileName = unit.isAbstract() ? unit.path() : Path.of(unit.path()).getFileName().toString();
        // Control answers are fire-and-forget: a stopper that has hung up must not hold the unit's exit for an acknowledgement.
        return config.toBuilder().fileName(fileName + Control.CONTROL_SUFFIX).inboxCapacity(16, 64 * 1024)
                .delivery(Delivery.written()).build();
    }

    private static void startControlThread(UnitSpec spec, Transport control, Runnable requestStop) {
        Thread thread = new Thread(() -> {
            while (control.isOpen()) {
                try (Frame frame = control.receive(Duration.ofSeconds(1))) {
                    if (frame != null && Control.STOP.equals(frame.payload().toString(StandardCharsets.UTF_8))) {
                        LOG.info("unit {} asked to stop by {}", spec.name, frame.sender());
                        // The pid lets the requester wait for this JVM's exit; it may be gone already, which is fine.
                        control.send(frame.sender(), Control.text(Control.STOPPING + " " + ProcessHandle.current().pid()))
                                .whenComplete((ignored, failure) -> { });
                        requestStop.run();
                    }
                } catch (TransportException closed) {
                    return;
                }
            }
        }, spec.name + "-control");
        thread.setDaemon(true);
        thread.start();
    }

    private static void watchParent(UnitSpec spec, Runnable requestStop, CountDownLatch finished) {
        ProcessHandle.of(spec.parentPid).ifPresentOrElse(parent -> parent.onExit().thenRun(() -> {
            LOG.info("unit {}: parent process {} exited; stopping", spec.name, spec.parentPid);
            requestStop.run();
            if (!await(finished, GRACE)) {
                LOG.error("unit {} did not stop within {} s of its parent's exit; exiting", spec.name, GRACE.toSeconds());
                System.exit(3);
            }
        }), requestStop);
    }

    private static boolean await(CountDownLatch latch, Duration timeout) {
        try {
            return latch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
