package org.stagecrew.benchmarks;

import io.netty.buffer.Unpooled;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Runs every workload for every variant: two agent JVMs per variant (a receiver and a sender),
 * driven by text commands over a control transport, so that all variants see the same harness.
 */
final class Runner implements AutoCloseable {
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(120);

    private final Settings settings;
    private final PrintStream log;
    private final Transport control;
    private final TransportConfig agentConfig;
    final List<Results.Throughput> throughput = new ArrayList<>();
    final List<Results.Latency> latency = new ArrayList<>();
    /** Whether the agents of the variant being measured have had their long first warm-up. */
    private boolean jitWarm;

    /** What to run. */
    record Settings(List<Variant> variants, List<Integer> sizes, List<Integer> fanIn, List<Integer> pingSizes,
            long warmupMillis, long runMillis, int pingWarmup, int pingCount, int repeat, Path socketDirectory,
            List<String> jvmOptions, long firstWarmupMillis, double pace, long minPaceIntervalNanos, boolean pingOnly,
            long pingWarmupMillis) {
    }

    Runner(Settings settings, PrintStream log) {
        this.settings = settings;
        this.log = log;
        this.agentConfig = TransportConfig.builder().socketDirectory(settings.socketDirectory()).ioMode(IoMode.NIO)
                .fileNamePrefix("ctl-").build();
        this.control = Transport.open(agentConfig);
    }

    void run() throws Exception {
        for (Variant variant : settings.variants()) {
            log.printf("%n== %s%n", variant.label);
            jitWarm = false;
            // The Aeron baseline's media driver runs in this JVM, its directory removed when the variant ends or fails.
            try (AeronDriver driver = variant == Variant.AERON ? AeronDriver.launch(settings.socketDirectory()) : null;
                    Concurrency receiver = agent(variant, "receiver", driver); Concurrency sender = agent(variant, "sender", driver)) {
                String target = command(receiver, "OPEN " + variant + " 1").trim();
                boolean pingOnly = variant.isLatencyOnly() || settings.pingOnly();
                for (int size : pingOnly ? List.<Integer>of() : settings.sizes()) {
                    throughput(variant, sender, receiver, target, 1, size);
                }
                for (int senders : pingOnly ? List.<Integer>of() : settings.fanIn()) {
                    throughput(variant, sender, receiver, target, senders, settings.sizes().get(0));
                }
                for (int size : settings.pingSizes()) {
                    ping(variant, sender, receiver, target, size);
                }
                command(receiver, "EXIT");
                command(sender, "EXIT");
                receiver.join(Duration.ofSeconds(10));
                sender.join(Duration.ofSeconds(10));
            }
        }
    }

    private Concurrency agent(Variant variant, String role, AeronDriver driver) {
        List<String> options = new ArrayList<>(settings.jvmOptions());
        if (driver != null) {
            options.add("-Daeron.dir=" + driver.directory());
        }
        return Concurrency.process(Agent.class).name("bench-" + variant.name().toLowerCase() + "-" + role)
                .parent(control.address()).arguments(settings.socketDirectory().toString())
                .transportConfig(agentConfig).jvmOptions(options.toArray(new String[0]))
                .startTimeout(Duration.ofSeconds(60)).start();
    }

    /** Measures {@code repeat} times and keeps the run with the median rate. */
    private void throughput(Variant variant, Concurrency sender, Concurrency receiver, String target, int senders, int size)
            throws Exception {
        throughput.add(median(Comparator.comparingDouble(Results.Throughput::messagesPerSecond),
                () -> throughputOnce(variant, sender, receiver, target, senders, size)));
    }

    /** Runs a measurement {@code repeat} times and returns the median run by {@code order}. */
    private <T> T median(Comparator<T> order, Callable<T> measurement) throws Exception {
        List<T> runs = new ArrayList<>();
        for (int i = 0; i < settings.repeat(); i++) {
            runs.add(measurement.call());
        }
        runs.sort(order);
        return runs.get(runs.size() / 2);
    }

    private Results.Throughput throughputOnce(Variant variant, Concurrency sender, Concurrency receiver, String target, int senders,
            int size) throws Exception {
        command(sender, "OPEN " + variant + " " + senders);
        command(receiver, "RECEIVE");
        // The first measurement of fresh JVMs warms up longer: with the usual warm-up, C2 would still be compiling
        // the send and receive paths inside it.
        long warmup = jitWarm ? settings.warmupMillis() : Math.max(settings.warmupMillis(), settings.firstWarmupMillis());
        jitWarm = true;
        String[] sent = words(command(sender, "SEND " + target + " " + size + " " + warmup + " " + settings.runMillis()));
        long measured = Long.parseLong(sent[0]);
        long nanos = Long.parseLong(sent[1]);
        long total = Long.parseLong(sent[2]);
        long sum = Long.parseLong(sent[3]);
        String[] got = words(command(receiver, "RESULT " + total + " 60000"));
        boolean verified = Long.parseLong(got[0]) == total && Long.parseLong(got[1]) == sum;
        command(receiver, "STOPIO");
        command(sender, "CLOSE");
        String[] senderMemory = words(command(sender, "MEMORY"));
        String[] receiverMemory = words(command(receiver, "MEMORY"));
        Results.Throughput result = new Results.Throughput(variant, senders, size, measured, nanos, verified,
                Long.parseLong(senderMemory[0]), Long.parseLong(senderMemory[1]),
                Long.parseLong(receiverMemory[0]), Long.parseLong(receiverMemory[1]));
        log.printf("  %-5s %8s B  %,14.0f msgs/s  %,10.1f MB/s  %s%n", result.workload(), size, result.messagesPerSecond(),
                result.bytesPerSecond() / 1e6, verified ? "verified" : "COUNT/CHECKSUM MISMATCH: got " + got[0] + " of " + total);
        return result;
    }

    /** Measures {@code repeat} times and keeps the run with the median p50. */
    private void ping(Variant variant, Concurrency pinger, Concurrency echo, String target, int size) throws Exception {
        latency.add(median(Comparator.comparingLong(Results.Latency::p50), () -> pingOnce(variant, pinger, echo, target, size)));
    }

    private Results.Latency pingOnce(Variant variant, Concurrency pinger, Concurrency echo, String target, int size) throws Exception {
        String self = command(pinger, "OPEN " + variant + " 1").trim();
        command(echo, "ECHO " + self);
        String[] pingerBefore = words(command(pinger, "CPU"));
        String[] echoBefore = words(command(echo, "CPU"));
        String[] p = words(command(pinger, "PING " + target + " " + size + " " + settings.pingWarmup() + " " + settings.pingCount()
                + " " + settings.pace() + " " + settings.minPaceIntervalNanos() + " " + (variant.isLatencyOnly() ? "spin" : "park")
                + " " + settings.pingWarmupMillis()));
        double pingerCores = cores(pingerBefore, words(command(pinger, "CPU")));
        double echoCores = cores(echoBefore, words(command(echo, "CPU")));
        command(echo, "STOPIO");
        command(pinger, "CLOSE");
        Results.Latency result = new Results.Latency(variant, size, settings.pingCount(), Long.parseLong(p[0]),
                Long.parseLong(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]), Long.parseLong(p[4]), pingerCores, echoCores,
                Long.parseLong(p[5]), Long.parseLong(p[6]), Long.parseLong(p[7]), Long.parseLong(p[8]), Double.parseDouble(p[11]),
                Long.parseLong(p[9]), Long.parseLong(p[10]));
        log.printf("  ping-pong %6s B  p50 %6.1f  p90 %6.1f  p99 %6.1f  p99.9 %7.1f  max %8.1f us  cpu %.2f + %.2f cores%n", size,
                result.p50() / 1e3, result.p90() / 1e3, result.p99() / 1e3, result.p999() / 1e3, result.max() / 1e3,
                pingerCores, echoCores);
        log.printf("  paced every %6.1f us (%.2f of that rate offered), from intended send times: p50 %6.1f  p99 %6.1f  p99.9 %7.1f us"
                + "  late %.1f %% (max %.1f us)%n", result.pacedInterval() / 1e3, result.pace(), result.coP50() / 1e3, result.coP99() / 1e3,
                result.coP999() / 1e3, 100 * result.lateShare(), result.pacedMaxLate() / 1e3);
        if (result.lateShare() > 0.1) {
            log.printf("  the pace was not kept (%.0f %% of pings left late): the paced percentiles measure a backlog (stalls of the "
                    + "machine, or a pace above what a side that parks between pings sustains: --pace, --min-pace-interval-us)%n",
                    100 * result.lateShare());
        }
        return result;
    }

    /** CPU time over wall time between two answers to CPU: the cores a process kept busy meanwhile. */
    private static double cores(String[] before, String[] after) {
        double cpu = Long.parseLong(after[0]) - Long.parseLong(before[0]);
        double wall = Long.parseLong(after[1]) - Long.parseLong(before[1]);
        return wall > 0 ? cpu / wall : 0;
    }

    private String command(Concurrency agent, String command) throws Exception {
        control.send(agent.address(), Unpooled.copiedBuffer(command, StandardCharsets.UTF_8)).get();
        long deadline = System.nanoTime() + REPLY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try (Frame reply = control.receive(Duration.ofMillis(500))) {
                if (reply == null) {
                    if (!agent.isAlive()) {
                        throw new IllegalStateException(agent.name() + " died during '" + command + "'; see " + agent.logFile().orElse(null));
                    }
                    continue;
                }
                String text = reply.payload().toString(StandardCharsets.UTF_8);
                if (text.startsWith("ERROR")) {
                    throw new IllegalStateException(agent.name() + ": " + text);
                }
                return text.substring(2);
            }
        }
        throw new IllegalStateException(agent.name() + " did not answer '" + command + "' within " + REPLY_TIMEOUT);
    }

    private static String[] words(String reply) {
        return reply.trim().split(" ");
    }

    @Override
    public void close() {
        control.close();
    }
}
