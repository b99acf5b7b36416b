package org.stagecrew.it;

import java.util.concurrent.CountDownLatch;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;

/** The units of {@link UnitDeathIT}. */
public final class DeathTasks {
    private DeathTasks() {
    }

    /**
     * Reads nothing and waits for its stop: frames sent to it fill its inbox, then its socket, then
     * the sender's queue up to the high watermark.
     */
    public static final class Deaf implements Task {
        @Override
        public void run(TaskContext context) throws Exception {
            new CountDownLatch(1).await(); // interrupted by a stop request
        }
    }
}
