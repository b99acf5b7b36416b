package org.stagecrew.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.stagecrew.transport.PeerStats;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportStats;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code stagecrew stat ADDRESS}: one endpoint's counters, in total and per peer, read from its counters file. */
@Command(name = "stat", mixinStandardHelpOptions = true,
        description = "Shows one endpoint's counters, in total and per peer, from its counters file (never connects).")
final class StatCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ADDRESS", description = "the endpoint's socket file")
    Path address;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Path socket = address.toAbsolutePath().normalize();
        Endpoint endpoint = new EndpointScanner(FileLocks.ofThisMachine()).inspect(socket);
        TransportStats stats = Counters.read(socket).orElseThrow(() -> new ToolException("no counters file "
                + socket + ".counters: not a stagecrew endpoint, closed, or one whose counters are kept in memory"
                + " (abstract or in-JVM address); 'stagecrew ls " + socket.getParent() + "' lists the endpoints"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("address  " + socket);
        out.println("owner    " + endpoint.state.name().toLowerCase(java.util.Locale.ROOT)
                + (endpoint.pid.isPresent() ? ", pid " + endpoint.pid.getAsLong() : "")
                + (endpoint.started != null ? ", up " + ListCommand.format(endpoint.uptime(Instant.now())) : "")
                + (endpoint.state == Endpoint.State.LIVE ? "" : " (the counters are its last ones)"));
        out.println();
        out.printf("%-36s %16s  %s%n", "COUNTER", "TOTAL", "UNIT");
        for (Map.Entry<String, Long> e : ordered(stats.totals()).entrySet()) {
            TransportCounter counter = TransportCounter.ofLabel(e.getKey().split("\\.", 2)[0]);
            out.printf("%-36s %16d  %s%n", e.getKey(), e.getValue(), counter == null ? "" : counter.unit());
        }
        out.println();
        if (stats.peers().isEmpty()) {
            out.println("no peers");
            return 0;
        }
        out.printf("%-4s %10s %10s %9s %9s %7s %8s %6s %5s %6s %9s  %s%n", "DIR", "FRAMES", "BYTES", "QUEUED", "QUEUED^",
                "BPWAITS", "FAILED", "CONNS", "LOST", "RECONN", "DISCARDED", "PEER");
        for (PeerStats p : stats.peers()) {
            boolean to = p.direction() == PeerStats.Direction.TO;
            out.printf("%-4s %10s %10s %9s %9s %7s %8s %6s %5s %6s %9s  %s%s%n", to ? "to" : "from",
                    Counters.human(p.get(to ? TransportCounter.FRAMES_SENT : TransportCounter.FRAMES_RECEIVED)),
                    Counters.human(p.get(to ? TransportCounter.BYTES_SENT : TransportCounter.BYTES_RECEIVED)),
                    Counters.human(p.get(TransportCounter.QUEUED_BYTES)), Counters.human(p.get(TransportCounter.QUEUED_BYTES_HIGH)),
                    p.get(TransportCounter.BACK_PRESSURE_WAITS), p.get(TransportCounter.SENDS_FAILED),
                    p.get(TransportCounter.CONNECTIONS_ACTIVE), p.get(TransportCounter.CONNECTIONS_LOST),
                    p.get(TransportCounter.RECONNECTS), p.get(TransportCounter.FRAMES_DISCARDED), p.peer(), details(p));
        }
        return 0;
    }

    /** The counters in {@link TransportCounter} order, each detail after its counter. */
    private static Map<String, Long> ordered(Map<String, Long> values) {
        Map<String, Long> sorted = new TreeMap<>((a, b) -> {
            TransportCounter ca = TransportCounter.ofLabel(a.split("\\.", 2)[0]);
            TransportCounter cb = TransportCounter.ofLabel(b.split("\\.", 2)[0]);
            int byCounter = Integer.compare(ca == null ? 99 : ca.ordinal(), cb == null ? 99 : cb.ordinal());
            return byCounter != 0 ? byCounter : a.compareTo(b);
        });
        sorted.putAll(values);
        return sorted;
    }

    /** {@code  [sendsFailed.PeerDiedException=3 ...]} for a peer's per-detail counters, or nothing. */
    private static String details(PeerStats p) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, Long> e : new TreeMap<>(p.counters()).entrySet()) {
            if (e.getKey().contains(".") && e.getValue() != 0) {
                text.append(text.length() == 0 ? "  [" : " ").append(e.getKey()).append('=').append(e.getValue());
            }
        }
        return text.length() == 0 ? "" : text.append(']').toString();
    }
}
