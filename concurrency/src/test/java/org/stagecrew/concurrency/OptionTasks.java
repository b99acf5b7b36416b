package org.stagecrew.concurrency;

import java.lang.management.ManagementFactory;

/** Tasks of {@link UnitOptionsIT}; public static nested classes, as a child JVM needs them. */
public final class OptionTasks {
    private OptionTasks() {
    }

    /** Sends its JVM's input arguments, one per line, to its parent and returns. */
    public static final class JvmArgumentsTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            String arguments = String.join("\n", ManagementFactory.getRuntimeMXBean().getInputArguments());
            UnitTasks.sendAndWait(ctx.transport(), ctx.parent(), UnitTasks.utf8(arguments));
        }
    }

    /** Logs a line naming its pid, then waits for its stop with {@link TaskContext#awaitStop}, then logs that. */
    public static final class AwaitStopTask implements Task {
        public static final String STOPPED = "awaitStop saw the stop request";

        @Override
        public void run(TaskContext ctx) throws Exception {
            ctx.logger().info("running in pid {}", ProcessHandle.current().pid());
            while (!ctx.awaitStop(java.time.Duration.ofSeconds(1))) {
                ctx.logger().debug("still running");
            }
            ctx.logger().info(STOPPED);
        }
    }

    /** Not public: a child JVM could not create it. */
    static final class HiddenTask implements Task {
        @Override
        public void run(TaskContext ctx) {
        }
    }

    /** Needs an argument: a child JVM could not create it. */
    public static final class NeedsArgumentTask implements Task {
        public NeedsArgumentTask(String argument) {
        }

        @Override
        public void run(TaskContext ctx) {
        }
    }

    /** An inner class: a child JVM could not create it. */
    public final class InnerTask implements Task {
        @Override
        public void run(TaskContext ctx) {
        }
    }

    /** Abstract. */
    public abstract static class AbstractTask implements Task {
    }
}
