package org.stagecrew.concurrency;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * Tasks that process and daemon units run in their child JVMs, for {@link ProcessUnitIT} and
 * {@link DaemonIT}. Each is a public static class with a public no-argument constructor, found by
 * name on the class path the child inherits from the test JVM.
 *
 * <p>Every task waits for its sends to complete before it returns: closing its transport would
 * fail a send still pending.
 */
public final class UnitTasks {
    /** The request to which {@link EchoTask} answers with its process id instead of an echo. */
    public static final String PID_REQUEST = "pid?";
    static final long SEND_TIMEOUT_SECONDS = 10;

    private UnitTasks() {
    }

    static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    static void sendAndWait(Transport transport, Address to, ByteBuf payload) throws Exception {
        transport.send(to, payload).get(SEND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /**
     * Echoes every frame to its sender, and answers {@value #PID_REQUEST} with its process id, until
     * it is asked to stop.
     */
    public static final class EchoTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            ctx.logger().info("echo task {} serving at {}", ctx.name(), ctx.address());
            Transport transport = ctx.transport();
            while (!ctx.isStopRequested()) {
                try (Frame frame = transport.receive(Duration.ofSeconds(1))) {
                    if (frame == null) {
                        continue;
                    }
                    ByteBuf payload = frame.payload();
                    ByteBuf reply = PID_REQUEST.equals(payload.toString(StandardCharsets.UTF_8))
                            ? utf8(Long.toString(ProcessHandle.current().pid()))
                            : ByteBufAllocator.DEFAULT.directBuffer(payload.readableBytes()).writeBytes(payload, payload.readerIndex(),
                                    payload.readableBytes());
                    sendAndWait(transport, frame.sender(), reply);
                } catch (TransportException | InterruptedException e) {
                    if (ctx.isStopRequested()) {
                        ctx.logger().info("echo task {} stopping", ctx.name());
                        return;
                    }
                    throw e;
                }
            }
            ctx.logger().info("echo task {} stopping", ctx.name());
        }
    }

    /** Sends its name, parent, process id, peers and arguments to its parent, one per line, and returns. */
    public static final class ContextTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            List<String> lines = new ArrayList<>();
            lines.add(ctx.name());
            lines.add(String.valueOf(ctx.parent()));
            lines.add(String.valueOf(ctx.address()));
            lines.add(Integer.toString(ctx.peers().size()));
            for (Address peer : ctx.peers()) {
                lines.add(peer.toString());
            }
            lines.addAll(ctx.arguments());
            sendAndWait(ctx.transport(), ctx.parent(), utf8(String.join("\n", lines)));
        }
    }

    /** Logs a line and throws. */
    public static final class FailingTask implements Task {
        /** What the exception says, to be found in the unit's log. */
        public static final String MESSAGE = "deliberate failure of FailingTask 4242";

        @Override
        public void run(TaskContext ctx) {
            ctx.logger().info("failing task {} is about to throw", ctx.name());
            throw new IllegalStateException(MESSAGE);
        }
    }

    /** Ends its JVM with status 7 while it is being created, before the unit is ready. */
    public static final class ExitInConstructorTask implements Task {
        /** The line it prints before it exits. */
        public static final String LINE = "ExitInConstructorTask exits with status 7";

        public ExitInConstructorTask() {
            System.err.println(LINE);
            System.err.flush();
            System.exit(7);
        }

        @Override
        public void run(TaskContext ctx) {
            throw new AssertionError("unreachable");
        }
    }

    /** Cannot be created: its constructor throws. */
    public static final class ThrowingConstructorTask implements Task {
        /** What the constructor's exception says. */
        public static final String MESSAGE = "ThrowingConstructorTask refuses to be created";

        public ThrowingConstructorTask() {
            throw new IllegalStateException(MESSAGE);
        }

        @Override
        public void run(TaskContext ctx) {
            throw new AssertionError("unreachable");
        }
    }

    /** Has no public no-argument constructor, so no process unit can create it. */
    public static final class NoDefaultConstructorTask implements Task {
        public NoDefaultConstructorTask(int unused) {
        }

        @Override
        public void run(TaskContext ctx) {
            throw new AssertionError("unreachable");
        }
    }

    /**
     * Starts a (non-daemon) {@link EchoTask} grandchild in the same socket directory, sends its
     * address to the parent, and waits to be stopped or killed.
     */
    public static final class GrandparentTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            TransportConfig config = ctx.transport().config().toBuilder().fileName(null).build();
            try (Concurrency grandchild = Concurrency.process(EchoTask.class).name(ctx.name() + "-grandchild")
                    .transportConfig(config).parent(ctx.address()).start()) {
                sendAndWait(ctx.transport(), ctx.parent(), utf8(UnitSpec.encode(grandchild.address())));
                while (!ctx.isStopRequested()) {
                    try (Frame ignored = ctx.transport().receive(Duration.ofSeconds(1))) {
                        // nothing to do but wait
                    } catch (TransportException e) {
                        if (!ctx.isStopRequested()) {
                            throw e;
                        }
                    }
                }
            }
        }
    }

    /**
     * Starts a daemon {@link EchoTask} bound to the file name given as its first argument, in its
     * own socket directory, sends the daemon's address to its parent, and returns: its JVM exits
     * while the daemon goes on. Closing the daemon's handle does not stop it.
     */
    public static final class DaemonLauncherTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            TransportConfig config = ctx.transport().config().toBuilder().fileName(ctx.arguments().get(0)).build();
            try (Concurrency daemon = Concurrency.daemon(EchoTask.class).name("daemon-" + ctx.arguments().get(0))
                    .transportConfig(config).start()) {
                sendAndWait(ctx.transport(), ctx.parent(), utf8(UnitSpec.encode(daemon.address())));
            }
        }
    }

    /** The system property that makes {@link SlowStartTask} take that many milliseconds to be created. */
    public static final String START_DELAY_PROPERTY = "stagecrew.test.startDelayMillis";

    /**
     * Takes {@value #START_DELAY_PROPERTY} milliseconds (default 60 s) to be created, so that its unit
     * stays in the starting state (alive, not ready), then echoes like {@link EchoTask}.
     */
    public static final class SlowStartTask implements Task {
        private final EchoTask echo = new EchoTask();

        public SlowStartTask() throws InterruptedException {
            Thread.sleep(Long.getLong(START_DELAY_PROPERTY, 60_000));
        }

        @Override
        public void run(TaskContext ctx) throws Exception {
            echo.run(ctx);
        }
    }

    /** Waits to be asked to stop, then throws instead of returning: a failure while stopping. */
    public static final class ThrowOnStopTask implements Task {
        /** What the exception says. */
        public static final String MESSAGE = "ThrowOnStopTask failed while stopping 4343";

        @Override
        public void run(TaskContext ctx) throws Exception {
            while (!ctx.isStopRequested()) {
                try (Frame ignored = ctx.transport().receive(Duration.ofSeconds(1))) {
                    // nothing to do but wait
                } catch (TransportException e) {
                    if (!ctx.isStopRequested()) {
                        throw e;
                    }
                }
            }
            throw new IllegalStateException(MESSAGE);
        }
    }

    /**
     * Echoes until asked to stop, then goes on for {@value #LINGER_MILLIS} ms more, ignoring
     * interrupts, before it returns: its unit stays in the stopping state that long.
     */
    public static final class LingeringStopTask implements Task {
        /** How long it lingers after a stop request. */
        public static final long LINGER_MILLIS = 3_000;

        @Override
        public void run(TaskContext ctx) throws Exception {
            try {
                new EchoTask().run(ctx);
            } finally {
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS);
                while (System.nanoTime() - end < 0) {
                    Thread.interrupted(); // ignores interrupts, as the javadoc says
                    java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
                }
            }
        }
    }
}
