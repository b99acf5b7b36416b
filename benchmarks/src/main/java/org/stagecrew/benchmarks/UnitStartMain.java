package org.stagecrew.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/**
 * How long process units take to be ready: one alone, and N at once with {@link
 * Concurrency#startAll}; wall time from the call to its return (every unit bound and its READY
 * received), the median of several rounds. Run: {@code java -cp stagecrew-benchmarks.jar
 * org.stagecrew.benchmarks.UnitStartMain [rounds] [N...]} (defaults: 3 rounds, N = 1 and 16).
 * Prints one row per N: {@code units=<N> median_ms=<m> runs_ms=<all>}. With {@code
 * -Dstagecrew.cds=false} the units start without the class-data archive, for the comparison; the
 * first round of a run with it may include making the archive (JDK 17: the first unit that stops
 * writes it).
 */
public final class UnitStartMain {
    private UnitStartMain() {
    }

    /** A unit that waits for its stop. */
    public static final class IdleTask implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            while (!ctx.awaitStop(Duration.ofSeconds(10))) {
                ctx.logger().debug("idle");
            }
        }
    }

    /** Runs the measurement; see the class comment for the arguments. */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        List<Integer> counts = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            counts.add(Integer.parseInt(args[i]));
        }
        if (counts.isEmpty()) {
            counts = List.of(1, 16);
        }
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "scs-");
        TransportConfig config = TransportConfig.builder().ioMode(IoMode.EPOLL.isAvailable() ? IoMode.EPOLL : IoMode.NIO)
                .socketDirectory(dir).build();
        System.out.printf("machine: %d cores, Java %s; units: %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), counts);
        for (int n : counts) {
            long[] millis = new long[rounds];
            for (int r = 0; r < rounds; r++) {
                List<Concurrency> units = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    units.add(Concurrency.process(IdleTask.class).name("start-" + n + "-" + r + "-" + i).transportConfig(config)
                            .systemProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn").startTimeout(Duration.ofSeconds(180))
                            .classDataSharing(true).build());
                }
                long start = System.nanoTime();
                Concurrency.startAll(units);
                millis[r] = (System.nanoTime() - start) / 1_000_000;
                // Stopped, not killed: on JDK 17 the first unit's JVM writes the class-data archive as it exits.
                for (Concurrency unit : units) {
                    unit.stop(Duration.ofSeconds(60));
                }
            }
            long[] sorted = millis.clone();
            Arrays.sort(sorted);
            System.out.printf("units=%d median_ms=%d runs_ms=%s%n", n, sorted[rounds / 2], Arrays.toString(millis));
        }
    }
}
