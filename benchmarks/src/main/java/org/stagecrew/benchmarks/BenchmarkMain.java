package org.stagecrew.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The README's first command: measures one-way throughput and ping-pong latency of every available
 * variant (ours in each socket mode, our codec over TCP loopback, a hand-rolled plain-JDK UDS
 * transport, its busy-polling twin and Aeron IPC) in one run, with senders and receivers in separate JVMs, and prints and writes the
 * results with ratios to the baselines.
 */
@Command(name = "stagecrew-benchmarks", mixinStandardHelpOptions = true,
        description = "Throughput and latency of stagecrew transports against baselines, measured in one run.")
public final class BenchmarkMain implements Callable<Integer> {

    @Option(names = "--variants", split = ",", description = "Variants to run: ${COMPLETION-CANDIDATES}. Default: all available.")
    List<Variant> variants;

    @Option(names = "--sizes", split = ",", defaultValue = "64,1024,4096,16384,65536,1048576", description = "Frame sizes for 1->1 throughput, bytes (default ${DEFAULT-VALUE}); the first is used for fan-in.")
    List<Integer> sizes;

    @Option(names = "--fan-in", split = ",", defaultValue = "4,16", description = "Numbers of senders for N->1 throughput; 0 for none (default ${DEFAULT-VALUE}).")
    List<Integer> fanIn;

    @Option(names = "--ping-sizes", split = ",", defaultValue = "64,1024", description = "Frame sizes for ping-pong (default ${DEFAULT-VALUE}).")
    List<Integer> pingSizes;

    @Option(names = "--warmup-ms", defaultValue = "1000", description = "Warm-up per throughput measurement (default ${DEFAULT-VALUE}).")
    long warmupMillis;

    @Option(names = "--first-warmup-ms", defaultValue = "15000", description = "Warm-up of the first throughput measurement of a "
            + "variant's fresh JVMs, and of every scale fan-in row, at least --warmup-ms (default ${DEFAULT-VALUE}): our JVMs compile for 10-15 s, and "
            + "3000 measured 1 KiB at half its steady rate.")
    long firstWarmupMillis;

    @Option(names = "--run-ms", defaultValue = "1000", description = "Measured time per throughput measurement (default ${DEFAULT-VALUE}).")
    long runMillis;

    @Option(names = "--ping-warmup", defaultValue = "5000", description = "Round trips before measuring (default ${DEFAULT-VALUE}).")
    int pingWarmup;

    @Option(names = "--ping-warmup-ms", defaultValue = "3000", description = "Back-to-back round trips before measuring go on "
            + "for at least this long (default ${DEFAULT-VALUE}): 5000 round trips of a busy-polling variant took 35 ms, and C2 "
            + "was still compiling its path, starved of CPU by two spinning loops, through the paced phase.")
    long pingWarmupMillis;

    @Option(names = "--ping-count", defaultValue = "10000", description = "Measured round trips (default ${DEFAULT-VALUE}).")
    int pingCount;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--pace", defaultValue = "0.25", description = "Offered rate of the paced ping-pong as a share of the "
            + "back-to-back rate, above 0 and at most 1 (default ${DEFAULT-VALUE}): at 0.5 one wake-up stall on 2 vCPUs left "
            + "the pinger behind for the rest of the run.")
    double pace;

    @Option(names = "--min-pace-interval-us", defaultValue = "100", description = "Shortest interval between paced pings, "
            + "microseconds (default ${DEFAULT-VALUE}): above the wake-up of a side that parks between pings, which back-to-back "
            + "round trips do not show.")
    long minPaceIntervalMicros;

    @Option(names = "--ping-only", description = "Run only the ping-pong of each variant (no throughput, no fan-in).")
    boolean pingOnly;

    @Option(names = "--repeat", defaultValue = "1", description = "Runs of every measurement; the median is reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--out", defaultValue = "benchmark-results", description = "Directory for results.csv, results.json, results.html (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--jvm-opt", description = "Extra option for the benchmark JVMs (repeatable).")
    List<String> jvmOptions = new ArrayList<>();

    @Option(names = "--scale-fan-in", split = ",", defaultValue = "64,256", description = "Sending transports of the scale fan-in rows, "
            + "spread over 4 sender JVMs, at the first size; 0 for none (default ${DEFAULT-VALUE}).")
    List<Integer> scaleFanIn;

    @Option(names = "--ring", defaultValue = "1000", description = "Transports in one JVM passing frames around a ring; 0 for none (default ${DEFAULT-VALUE}).")
    int ring;

    @Option(names = "--scale-only", description = "Run only the scale rows (--scale-fan-in, --ring).")
    boolean scaleOnly;

    /** Runs the benchmarks; exit code 0 when every count and checksum matched. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new BenchmarkMain()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (!(pace > 0 && pace <= 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--pace must be above 0 and at most 1, was: " + pace);
        }
        if (minPaceIntervalMicros < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--min-pace-interval-us must be at least 0, was: "
                    + minPaceIntervalMicros);
        }
        List<Variant> chosen = new ArrayList<>();
        for (Variant v : variants != null ? variants : List.of(Variant.values())) {
            if (v.isAvailable()) {
                chosen.add(v);
            } else {
                System.out.printf("skipping %s: %s%n", v.label, v.mode.unavailabilityCause());
            }
        }
        List<String> options = new ArrayList<>(List.of("-Xms256m", "-Xmx1g", "-Dio.netty.leakDetection.level=disabled",
                "-Dio.netty.tryReflectionSetAccessible=true", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        options.addAll(jvmOptions);
        String machine = String.format("%s, %d cores, %s %s, Java %s, %s", hostCpu(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("java.version"),
                LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 16));
        Path sockets = Files.createTempDirectory(Path.of("/tmp"), "scb-");
        long start = System.nanoTime();
        List<Integer> senders = fanIn.stream().filter(n -> n > 0).toList();
        List<Integer> scaleSenders = scaleFanIn.stream().filter(n -> n > 0).toList();
        try (Runner runner = new Runner(new Runner.Settings(chosen, sizes, senders, pingSizes, warmupMillis, runMillis, pingWarmup,
                pingCount, Math.max(1, repeat), sockets, options, firstWarmupMillis, pace,
                minPaceIntervalMicros * 1_000, pingOnly, pingWarmupMillis), System.out);
                ScaleRunner scale = new ScaleRunner(new ScaleRunner.Settings(scaleSenders, 4, ring, 8, sizes.get(0), warmupMillis,
                        runMillis, sockets, options, Math.max(warmupMillis, firstWarmupMillis)), System.out)) {
            if (!scaleOnly) {
                runner.run();
            }
            scale.run();
            Report report = new Report(runner.throughput, runner.latency,
                    repeat > 1 ? machine + ", median of " + repeat + " runs" : machine);
            ScaleReport scaleReport = new ScaleReport(scale.results);
            if (!scaleOnly) {
                report.printTables(System.out);
            }
            scaleReport.printTable(System.out);
            report.write(out);
            scaleReport.addTo(out);
            System.out.printf("%nwrote %s/results.{csv,json,html} in %.0f s%n", out, (System.nanoTime() - start) / 1e9);
            return runner.throughput.stream().allMatch(Results.Throughput::verified)
                    && scale.results.stream().allMatch(ScaleResult::verified) ? 0 : 1;
        } finally {
            try (var files = Files.walk(sockets)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static String hostCpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (Exception e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }
}
