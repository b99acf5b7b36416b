package org.stagecrew.benchmarks;

import io.netty.buffer.Unpooled;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * The scale rows (issue 16): fan-in from many sending transports spread over several sender JVMs to
 * one receiver JVM, against the 1→1 rate of the same harness in the same run; and one JVM holding
 * many transports that pass frames around a ring. Our transport in its default configuration
 * (AUTO mode, shared event loops). Agents are {@link ScaleAgent}s.
 */
final class ScaleRunner implements AutoCloseable {
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(180);
    /** Between the start command and the agreed start: every sender JVM has its command by then. */
    private static final long START_DELAY_MILLIS = 300;
    /** How long an agent that answered EXIT gets to end before its close stops it. */
    private static final Duration EXIT_WAIT = Duration.ofSeconds(10);

    private final Settings settings;
    private final PrintStream log;
    private final TransportConfig agentConfig;
    private final Transport control;
    final List<ScaleResult> results = new ArrayList<>();
    /** Answers that arrived while another agent's was awaited, one per agent (each has one command outstanding). */
    private final Map<Address, String> pending = new HashMap<>();

    /**
     * What to run: fan-in sender counts (over {@code senderJvms} JVMs), the ring's size (0: none), frame size, timing;
     * {@code firstWarmupMillis} warms up the 1->1 reference and every fan-in row, long enough for C2 to finish compiling
     * the send path and for a row's fresh transports to fill their buffers.
     */
    record Settings(List<Integer> fanIn, int senderJvms, int ring, int ringTokens, int size, long warmupMillis, long runMillis,
            Path socketDirectory, List<String> jvmOptions, long firstWarmupMillis) {
    }

    ScaleRunner(Settings settings, PrintStream log) {
        this.settings = settings;
        this.log = log;
        this.agentConfig = TransportConfig.builder().socketDirectory(settings.socketDirectory()).ioMode(IoMode.NIO)
                .fileNamePrefix("sctl-").build();
        this.control = Transport.open(agentConfig);
    }

    void run() throws Exception {
        if (!settings.fanIn().isEmpty()) {
            fanIn();
        }
        if (settings.ring() > 0) {
            ring();
        }
    }

    private void fanIn() throws Exception {
        log.printf("%n== scale: fan-in over %d sender JVMs%n", settings.senderJvms());
        List<Concurrency> jvms = new ArrayList<>();
        try {
            Concurrency receiver = agent("scale-receiver");
            jvms.add(receiver);
            List<Concurrency> senders = new ArrayList<>();
            for (int i = 0; i < settings.senderJvms(); i++) {
                senders.add(agent("scale-sender-" + i));
            }
            jvms.addAll(senders);
            String target = command(receiver, "LISTEN").trim();
            ScaleResult one = fanInOnce(receiver, senders.subList(0, 1), 1, target, settings.firstWarmupMillis(), Double.NaN);
            for (int transports : settings.fanIn()) {
                // Every row opens its transports afresh: new threads, new connections whose segments and socket
                // buffers fill up first, fresh pool memory. With 1 s after a warm 64->1 row, 256->1 measured 0.12-0.43x.
                fanInOnce(receiver, senders, transports, target, settings.firstWarmupMillis(), one.messagesPerSecond());
            }
            for (Concurrency jvm : jvms) {
                command(jvm, "EXIT");
            }
            for (Concurrency jvm : jvms) { // an agent that answered EXIT is on its way out: close must not stop it again
                jvm.join(EXIT_WAIT);
            }
        } finally {
            for (Concurrency jvm : jvms) {
                jvm.close();
            }
        }
    }

    /** {@code transports} sending transports spread evenly over {@code senders}, all sending at once to {@code target}. */
    private ScaleResult fanInOnce(Concurrency receiver, List<Concurrency> senders, int transports, String target, long warmup,
            double oneToOne) throws Exception {
        for (int i = 0; i < senders.size(); i++) {
            command(senders.get(i), "OPEN " + (transports / senders.size() + (i < transports % senders.size() ? 1 : 0)) + " " + target);
        }
        String[] connected = words(command(receiver, "COUNT " + transports + " 60000")); // the empty frame of each connect
        if (Long.parseLong(connected[0]) != transports) {
            throw new IllegalStateException("only " + connected[0] + " of " + transports + " sending transports connected");
        }
        long start = System.currentTimeMillis() + START_DELAY_MILLIS;
        String send = "SEND " + target + " " + settings.size() + " " + start + " " + warmup + " " + settings.runMillis();
        for (Concurrency sender : senders) {
            ask(sender, send);
        }
        long measured = 0;
        long total = 0;
        long sum = 0;
        for (Concurrency sender : senders) {
            String[] r = words(reply(sender, send));
            measured += Long.parseLong(r[0]);
            total += Long.parseLong(r[1]);
            sum += Long.parseLong(r[2]);
        }
        String[] got = words(command(receiver, "COUNT " + total + " 60000"));
        boolean verified = Long.parseLong(got[0]) == total && Long.parseLong(got[1]) == sum;
        int threads = 0;
        int loops = 0;
        for (Concurrency sender : senders) {
            String[] t = words(command(sender, "THREADS"));
            if (Integer.parseInt(t[0]) > threads) {
                threads = Integer.parseInt(t[0]);
                loops = Integer.parseInt(t[1]);
            }
        }
        for (Concurrency sender : senders) {
            command(sender, "CLOSE");
        }
        long nanos = settings.runMillis() * 1_000_000;
        double rate = measured * 1e9 / nanos;
        ScaleResult result = new ScaleResult("fan-in", transports, senders.size(), settings.size(), measured, nanos, verified,
                Double.isNaN(oneToOne) ? 1.0 : rate / oneToOne, threads, loops, -1, -1);
        results.add(result);
        log.printf("  %-22s %6s B  %,14.0f msgs/s  %5.2fx 1->1  %d threads (%d event loops) per sender JVM  %s%n", result.flow(),
                settings.size(), rate, result.vsOneToOne(), threads, loops,
                verified ? "verified" : "COUNT/CHECKSUM MISMATCH: got " + got[0] + " of " + total);
        return result;
    }

    private void ring() throws Exception {
        log.printf("%n== scale: %d transports in a ring in one JVM%n", settings.ring());
        try (Concurrency jvm = agent("scale-ring")) {
            String[] r = words(command(jvm, "RING " + settings.ring() + " " + settings.ringTokens() + " " + settings.size() + " "
                    + settings.warmupMillis() + " " + settings.runMillis()));
            ScaleResult result = new ScaleResult("ring", settings.ring(), 1, settings.size(), Long.parseLong(r[0]), Long.parseLong(r[1]),
                    Boolean.parseBoolean(r[2]), Double.NaN, Integer.parseInt(r[3]), Integer.parseInt(r[4]), Long.parseLong(r[5]),
                    Long.parseLong(r[6]));
            results.add(result);
            log.printf("  %-22s %6s B  %,14.0f msgs/s  %d threads (%d event loops)  %,d B heap + %,d B direct per transport  %s%n",
                    result.flow(), settings.size(), result.messagesPerSecond(), result.threads(), result.loopThreads(),
                    result.heapPerTransport(), result.directPerTransport(), result.verified() ? "verified" : "TOKENS LOST");
            command(jvm, "EXIT");
            jvm.join(EXIT_WAIT);
        }
    }

    private Concurrency agent(String name) {
        return Concurrency.process(ScaleAgent.class).name(name).parent(control.address())
                .arguments(settings.socketDirectory().toString()).transportConfig(agentConfig)
                .jvmOptions(settings.jvmOptions().toArray(new String[0])).startTimeout(Duration.ofSeconds(60)).start();
    }

    private String command(Concurrency agent, String command) throws Exception {
        ask(agent, command);
        return reply(agent, command);
    }

    private void ask(Concurrency agent, String command) throws Exception {
        control.send(agent.address(), Unpooled.copiedBuffer(command, StandardCharsets.UTF_8)).get();
    }

    /**
     * The answer of {@code agent} to {@code command}. Several agents may be asked at once: an answer
     * of another agent that arrives first is kept for its own turn. Each agent answers in order.
     */
    private String reply(Concurrency agent, String command) throws Exception {
        long deadline = System.nanoTime() + REPLY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String text = pending.remove(agent.address());
            if (text == null) {
                try (Frame frame = control.receive(Duration.ofMillis(500))) {
                    if (frame == null) {
                        if (!agent.isAlive()) {
                            throw new IllegalStateException(agent.name() + " died during '" + command + "'; see "
                                    + agent.logFile().orElse(null));
                        }
                        continue;
                    }
                    text = frame.payload().toString(StandardCharsets.UTF_8);
                    if (!frame.sender().equals(agent.address())) {
                        pending.put(frame.sender(), text);
                        continue;
                    }
                }
            }
            if (text.startsWith("ERROR")) {
                throw new IllegalStateException(agent.name() + ": " + text);
            }
            return text.substring(2);
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
