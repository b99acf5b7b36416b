package org.stagecrew.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/** Tasks that the harness's own tests run in child JVMs; public, with public no-argument constructors. */
public final class HarnessTasks {
    /** Answered by {@link EchoTask} with its process id. */
    public static final String PID_REQUEST = "pid?";
    static final Duration WAIT = Duration.ofSeconds(20);

    private HarnessTasks() {
    }

    static ByteBuf text(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    static void sendAndWait(Transport transport, Address to, String text) throws Exception {
        transport.send(to, text(text)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Receives the next frame's text, failing after {@link #WAIT}. */
    static String receiveText(Transport transport) {
        try (Frame frame = transport.receive(WAIT)) {
            if (frame == null) {
                throw new AssertionError("nothing arrived at " + transport.address() + " within " + WAIT);
            }
            return frame.payload().toString(StandardCharsets.UTF_8);
        }
    }

    /** Echoes every frame to its sender (answering {@value #PID_REQUEST} with its pid) until asked to stop. */
    public static final class EchoTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            Transport transport = ctx.transport();
            while (!ctx.isStopRequested()) {
                try (Frame frame = transport.receive(Duration.ofSeconds(1))) {
                    if (frame != null) {
                        String text = frame.payload().toString(StandardCharsets.UTF_8);
                        String reply = PID_REQUEST.equals(text) ? Long.toString(ProcessHandle.current().pid()) : text;
                        sendAndWait(transport, frame.sender(), reply);
                    }
                } catch (TransportException | InterruptedException e) {
                    if (!ctx.isStopRequested()) {
                        throw e;
                    }
                }
            }
        }
    }

    /**
     * An {@link EchoTask} that, once asked to stop, closes its transport (unlinking its socket file)
     * and then takes {@link #LINGER} to exit, as a JVM with slow shutdown hooks does.
     */
    public static final class LingeringEchoTask implements Task {
        /** How long it takes to exit after its socket file is gone. */
        public static final Duration LINGER = Duration.ofSeconds(3);

        @Override
        public void run(TaskContext ctx) throws Exception {
            new EchoTask().run(ctx);
            ctx.transport().close();
            long deadline = System.nanoTime() + LINGER.toNanos();
            while (System.nanoTime() - deadline < 0) {
                Thread.interrupted();
                LockSupport.parkNanos(deadline - System.nanoTime()); // the slow exit under test, not synchronisation
            }
        }
    }

    /** Logs {@link #LINE}, tells its parent, and waits to be stopped. */
    public static final class LoggingTask implements Task {
        /** The line this task logs. */
        public static final String LINE = "LoggingTask was here: 7f3a-unmistakable";

        @Override
        public void run(TaskContext ctx) throws Exception {
            ctx.logger().info(LINE);
            System.out.flush();
            sendAndWait(ctx.transport(), ctx.parent(), "logged");
            while (!ctx.isStopRequested()) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // idle until STOP; not synchronisation
            }
        }
    }

    /** Ignores stop requests and interrupts: only SIGKILL ends it. */
    public static final class StubbornTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            sendAndWait(ctx.transport(), ctx.parent(), Long.toString(ProcessHandle.current().pid()));
            while (true) {
                Thread.interrupted();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
    }

    /** Writes a line that looks like Netty's leak report to its log, tells its parent, and returns. */
    public static final class FakeLeakTask implements Task {
        /** The line it writes. */
        public static final String LINE = "LEAK: ByteBuf.release() was not called before it's garbage-collected. (fake, by FakeLeakTask)";

        @Override
        public void run(TaskContext ctx) throws Exception {
            System.err.println(LINE);
            System.err.flush();
            sendAndWait(ctx.transport(), ctx.parent(), "leaked");
        }
    }

    /**
     * Starts a daemon {@link EchoTask} bound to the file name {@code arguments[0]} in its own socket
     * directory, with its log in the directory {@code arguments[1]}, sends the daemon's process id to
     * its parent, and returns, so that its JVM exits and the daemon is no longer a descendant of the
     * test JVM.
     */
    public static final class DaemonLauncherTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            TransportConfig config = ctx.transport().config().toBuilder().fileName(ctx.arguments().get(0)).build();
            Concurrency daemon = Concurrency.daemon(EchoTask.class).name("daemon-" + ctx.arguments().get(0))
                    .transportConfig(config).logDirectory(Path.of(ctx.arguments().get(1))).start();
            sendAndWait(ctx.transport(), daemon.address(), PID_REQUEST);
            String pid = receiveText(ctx.transport());
            sendAndWait(ctx.transport(), ctx.parent(), pid);
        }
    }
}
