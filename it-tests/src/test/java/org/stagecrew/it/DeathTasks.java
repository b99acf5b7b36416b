package org.stagecrew.it;

import java.time.Duration;
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

    /** Answers every frame with a copy of it, until it is asked to stop. */
    public static final class Echo implements Task {
        @Override
        public void run(TaskContext context) throws Exception {
            while (!context.isStopRequested()) {
                try (org.stagecrew.transport.Frame frame = context.transport().receive(Duration.ofSeconds(1))) {
                    if (frame != null) {
                        context.transport().send(frame.sender(), frame.payload().retainedDuplicate(), Duration.ofSeconds(10));
                    }
                }
            }
        }
    }

    /** Throws ({@value #CRASH}) a moment after it is ready: exit status 1. */
    public static final class Crasher implements Task {
        public static final String CRASH = "Crasher crashes on purpose";

        @Override
        public void run(TaskContext context) throws Exception {
            if (!context.awaitStop(Duration.ofMillis(200))) {
                throw new IllegalStateException(CRASH);
            }
        }
    }
}
