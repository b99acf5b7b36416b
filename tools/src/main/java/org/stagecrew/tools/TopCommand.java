package org.stagecrew.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportStats;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stagecrew top [DIR]}: a table of every endpoint of a directory, refreshed every {@code -d}
 * seconds like {@code top}: rates since the previous refresh, queues, failures. Reads the counters
 * files only. The screen is cleared between refreshes only on a terminal.
 */
@Command(name = "top", mixinStandardHelpOptions = true,
        description = "Shows every endpoint of a socket directory with its rates and queues, refreshed like top.")
final class TopCommand implements Callable<Integer> {
    @CommandLine.Mixin
    SocketDirectory directory;

    @Option(names = "-n", paramLabel = "N", description = "refreshes before exiting (default: until interrupted)")
    int iterations;

    @Option(names = "-d", paramLabel = "SECONDS", description = "delay between refreshes (default: ${DEFAULT-VALUE})")
    double delay = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (delay <= 0 || iterations < 0) {
            throw new ToolException("-d must be above 0 and -n at least 0 (0: until interrupted), were: -d " + delay
                    + " -n " + iterations);
        }
        Path dir = directory.path();
        PrintWriter out = spec.commandLine().getOut();
        boolean terminal = System.console() != null;
        Map<Path, TransportStats> previous = new HashMap<>();
        long previousNanos = 0;
        for (int i = 0; iterations == 0 || i < iterations; i++) {
            if (i > 0) {
                Thread.sleep((long) (delay * 1000)); // the refresh interval, not a synchronisation
            }
            List<Endpoint> endpoints = new EndpointScanner(FileLocks.ofThisMachine()).scan(dir);
            long now = System.nanoTime();
            double seconds = previousNanos == 0 ? 0 : (now - previousNanos) / 1e9;
            previousNanos = now;
            if (terminal) {
                out.print("\033[H\033[2J");
            }
            out.printf("stagecrew top - %s - %s - %d endpoint(s)%n", LocalTime.now().truncatedTo(ChronoUnit.SECONDS), dir,
                    endpoints.size());
            out.printf("%-6s %8s %9s %9s %9s %9s %7s %9s %7s %5s  %s%n", "STATE", "PID", "OUT/s", "IN/s", "OUTB/s", "INB/s",
                    "INBOX", "QUEUED", "FAILED", "PEERS", "ADDRESS");
            Map<Path, TransportStats> current = new HashMap<>();
            for (Endpoint e : endpoints) {
                Optional<TransportStats> read = Counters.read(e.socketFile);
                String state = e.state.name().toLowerCase(java.util.Locale.ROOT);
                String pid = e.pid.isPresent() ? Long.toString(e.pid.getAsLong()) : "-";
                if (read.isEmpty()) {
                    out.printf("%-6s %8s %9s %9s %9s %9s %7s %9s %7s %5s  %s%n", state, pid, "-", "-", "-", "-", "-", "-", "-",
                            "-", e.socketFile);
                    continue;
                }
                TransportStats stats = read.get();
                current.put(e.socketFile, stats);
                TransportStats before = previous.get(e.socketFile);
                out.printf("%-6s %8s %9s %9s %9s %9s %7s %9s %7s %5s  %s%n", state, pid,
                        rate(stats, before, TransportCounter.FRAMES_SENT, seconds),
                        rate(stats, before, TransportCounter.FRAMES_RECEIVED, seconds),
                        rate(stats, before, TransportCounter.BYTES_SENT, seconds),
                        rate(stats, before, TransportCounter.BYTES_RECEIVED, seconds),
                        Counters.human(stats.get(TransportCounter.INBOX_FRAMES)),
                        Counters.human(stats.get(TransportCounter.QUEUED_BYTES)),
                        Counters.human(stats.get(TransportCounter.SENDS_FAILED)), Counters.connectedPeers(stats), e.socketFile);
            }
            out.flush();
            previous = current;
        }
        return 0;
    }

    /** The counter's rise per second since {@code before}; {@code -} on the first refresh. */
    private static String rate(TransportStats now, TransportStats before, TransportCounter counter, double seconds) {
        if (before == null || seconds <= 0) {
            return "-";
        }
        return Counters.human((now.get(counter) - before.get(counter)) / seconds);
    }
}
