package org.stagecrew.it;

import java.time.Duration;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Frame;

/** The units of {@link WatchIT}. */
public final class WatchTasks {
    private WatchTasks() {
    }

    /**
     * Closes its transport when a frame arrives, then goes on living until stopped: a peer whose
     * address closes in order while its process stays alive, so that only a watch's control
     * connection can tell.
     */
    public static final class ClosesItsTransport implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            try (Frame request = ctx.transport().receive(WatchIT.WAIT)) {
                if (request == null) {
                    return;
                }
            }
            ctx.transport().close();
            while (!ctx.isStopRequested()) {
                Thread.sleep(Duration.ofMillis(20).toMillis()); // a task body waiting for its stop flag, not a test's synchronisation
            }
        }
    }
}
