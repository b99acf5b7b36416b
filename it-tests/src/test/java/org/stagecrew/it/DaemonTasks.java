package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportException;

/** The units of {@link DaemonIT}. */
public final class DaemonTasks {
    static final String PID_REQUEST = "pid?";

    private DaemonTasks() {
    }

    /**
     * Starts a daemon {@link Echo} bound to the file name {@code arguments[0]} in its own socket
     * directory, logging into the directory {@code arguments[1]}; sends the daemon's address to its
     * parent and returns, so that its JVM exits while the daemon goes on.
     */
    public static final class Launcher implements Task {
        @Override
        public void run(TaskContext ctx) {
            Concurrency daemon = Concurrency.daemon(Echo.class).name("daemon")
                    .transportConfig(ctx.transport().config().toBuilder().fileName(ctx.arguments().get(0)).build())
                    .logDirectory(Path.of(ctx.arguments().get(1))).start();
            Reports.send(ctx.transport(), ctx.parent(), daemon.address().path());
        }
    }

    /** Sends every frame back to its sender, and answers {@value #PID_REQUEST} with its process id, until stopped. */
    public static final class Echo implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            Transport transport = ctx.transport();
            while (!ctx.isStopRequested()) {
                try (Frame frame = transport.receive(Duration.ofSeconds(1))) {
                    if (frame == null) {
                        continue;
                    }
                    ByteBuf payload = frame.payload();
                    ByteBuf reply = PID_REQUEST.equals(Reports.text(frame))
                            ? Reports.text(Long.toString(ProcessHandle.current().pid()))
                            : ByteBufAllocator.DEFAULT.directBuffer(payload.readableBytes()).writeBytes(payload);
                    transport.send(frame.sender(), reply).get(30, TimeUnit.SECONDS);
                } catch (TransportException | InterruptedException e) {
                    if (!ctx.isStopRequested()) {
                        throw e;
                    }
                }
            }
        }
    }
}
