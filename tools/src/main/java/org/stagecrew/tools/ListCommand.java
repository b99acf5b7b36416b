package org.stagecrew.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code stagecrew ls [DIR]}: one line per endpoint: address, state, pid, user, uptime. */
@Command(name = "ls", mixinStandardHelpOptions = true,
        description = "Lists the endpoints of a socket directory: address, live or stale, pid, user, uptime, connected peers.")
final class ListCommand implements Callable<Integer> {
    @CommandLine.Mixin
    SocketDirectory directory;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Path dir = directory.path();
        List<Endpoint> endpoints = new EndpointScanner(FileLocks.ofThisMachine()).scan(dir);
        PrintWriter out = spec.commandLine().getOut();
        if (endpoints.isEmpty()) {
            out.println("no endpoints in " + dir);
            return 0;
        }
        Instant now = Instant.now();
        out.printf("%-6s %8s  %-10s %9s %5s  %s%n", "STATE", "PID", "USER", "UPTIME", "PEERS", "ADDRESS");
        for (Endpoint e : endpoints) {
            String peers = e.state == Endpoint.State.LIVE
                    ? Counters.read(e.socketFile).map(s -> Long.toString(Counters.connectedPeers(s))).orElse("-") : "-";
            out.printf("%-6s %8s  %-10s %9s %5s  %s%s%n", e.state.name().toLowerCase(java.util.Locale.ROOT),
                    e.pid.isPresent() ? Long.toString(e.pid.getAsLong()) : "-", e.user, format(e.uptime(now)), peers, e.socketFile,
                    hint(e));
        }
        return 0;
    }

    private static String hint(Endpoint e) {
        switch (e.state) {
            case STALE:
                return "  (owner gone; 'stagecrew clean' removes it)";
            case UNLOCKED:
                return "  (no lock file: not a stagecrew transport's, or bound by the drop-in without one)";
            default:
                return "";
        }
    }

    /** {@code 42s}, {@code 3m12s}, {@code 5h03m}, {@code 2d04h}; {@code -} if unknown. */
    static String format(Duration uptime) {
        if (uptime == null || uptime.isNegative()) {
            return "-";
        }
        long s = uptime.getSeconds();
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format("%dm%02ds", s / 60, s % 60);
        }
        if (s < 86_400) {
            return String.format("%dh%02dm", s / 3600, s / 60 % 60);
        }
        return String.format("%dd%02dh", s / 86_400, s / 3600 % 24);
    }
}
