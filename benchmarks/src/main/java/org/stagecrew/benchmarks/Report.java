package org.stagecrew.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Writes a run's results: a console table with ratios to the baselines of the same run, and
 * {@code results.csv}, {@code results.json} and a self-contained {@code results.html} (SVG bars).
 * Throughput is compared with the plain-JDK, TCP and Aeron IPC baselines ({@code vs jdk},
 * {@code vs tcp}, {@code vs aeron}: our rate over theirs, above 1 is better); ping-pong p50 with the
 * blocking and the busy-polling plain-JDK baselines (our time over theirs, below 1 is better). A
 * ratio whose baseline was not run is {@code -} in the tables, empty in the CSV, null in the JSON.
 */
final class Report {
    private final List<Results.Throughput> throughput;
    private final List<Results.Latency> latency;
    private final String machine;

    Report(List<Results.Throughput> throughput, List<Results.Latency> latency, String machine) {
        this.throughput = throughput;
        this.latency = latency;
        this.machine = machine;
    }

    void printTables(PrintStream out) {
        out.printf("%nThroughput, one way (%s)%n", machine);
        out.printf("%-32s %-6s %9s %15s %11s %9s %9s %9s %8s %19s %19s%n", "variant", "flow", "size", "msgs/s", "MB/s",
                "vs jdk", "vs tcp", "vs aeron", "checked", "sender heap/direct", "receiver heap/dir");
        for (Results.Throughput t : throughput) {
            out.printf("%-32s %-6s %9s %,15.0f %,11.1f %9s %9s %9s %8s %19s %19s%n", t.variant().label, t.workload(), bytes(t.size()),
                    t.messagesPerSecond(), t.bytesPerSecond() / 1e6, times(ratio(t, Variant.JDK)), times(ratio(t, Variant.TCP)),
                    times(ratio(t, Variant.AERON)), t.verified() ? "yes" : "NO", mib(t.senderHeap()) + "/" + mib(t.senderDirect()),
                    mib(t.receiverHeap()) + "/" + mib(t.receiverDirect()));
        }
        out.printf("%nPing-pong round trip, microseconds%n");
        out.printf("%-32s %9s %8s %8s %8s %8s %9s %11s %11s %16s%n", "variant", "size", "p50", "p90", "p99", "p99.9", "max", "p50 vs jdk",
                "vs jdk busy", "cpu ping+echo");
        for (Results.Latency l : latency) {
            out.printf("%-32s %9s %8.1f %8.1f %8.1f %8.1f %9.1f %11s %11s %16s%n", l.variant().label, bytes(l.size()), l.p50() / 1e3,
                    l.p90() / 1e3, l.p99() / 1e3, l.p999() / 1e3, l.max() / 1e3, times(p50Ratio(l, Variant.JDK)),
                    times(p50Ratio(l, Variant.JDK_BUSY)), String.format(Locale.ROOT, "%.2f + %.2f", l.pingerCores(), l.echoCores()));
        }
        out.printf("%nPing-pong paced at a share of the back-to-back rate, timed from the intended send times "
                + "(corrected for coordinated omission), microseconds; late: pings that left over %d us after their time%n",
                PingSchedule.LATE_NANOS / 1000);
        out.printf("%-32s %9s %6s %12s %8s %8s %8s %8s %12s%n", "variant", "size", "pace", "paced every", "p50", "p99", "p99.9",
                "late", "max late");
        for (Results.Latency l : latency) {
            out.printf("%-32s %9s %6.2f %12.1f %8.1f %8.1f %8.1f %7.1f%% %12.1f%n", l.variant().label, bytes(l.size()), l.pace(),
                    l.pacedInterval() / 1e3, l.coP50() / 1e3, l.coP99() / 1e3, l.coP999() / 1e3, 100 * l.lateShare(),
                    l.pacedMaxLate() / 1e3);
        }
    }

    /** {@code t}'s rate over {@code baseline}'s in the same flow and size; NaN if the baseline has no such row. */
    double ratio(Results.Throughput t, Variant baseline) {
        return throughput.stream().filter(b -> b.variant() == baseline && b.senders() == t.senders() && b.size() == t.size())
                .findFirst().map(b -> t.messagesPerSecond() / b.messagesPerSecond()).orElse(Double.NaN);
    }

    /** {@code l}'s back-to-back p50 over {@code baseline}'s at the same size; NaN if the baseline has no such row. */
    double p50Ratio(Results.Latency l, Variant baseline) {
        return latency.stream().filter(b -> b.variant() == baseline && b.size() == l.size()).findFirst()
                .map(b -> (double) l.p50() / b.p50()).orElse(Double.NaN);
    }

    static String times(double ratio) {
        return Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2fx", ratio);
    }

    private static String csv(double ratio) {
        return Double.isNaN(ratio) ? "" : String.format(Locale.ROOT, "%.3f", ratio);
    }

    private static String json(double ratio) {
        return Double.isNaN(ratio) ? "null" : String.format(Locale.ROOT, "%.3f", ratio);
    }

    void write(Path directory) throws IOException {
        Files.createDirectories(directory);
        StringBuilder csv = new StringBuilder("kind,variant,flow,size,msgs_per_s,bytes_per_s,verified,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,"
                + "sender_heap,sender_direct,receiver_heap,receiver_direct,pinger_cores,echo_cores,vs_jdk,vs_tcp,vs_aeron,"
                + "co_p50_ns,co_p99_ns,co_p999_ns,paced_interval_ns,p50_vs_jdk,p50_vs_jdk_busy,pace,paced_late_share,paced_max_late_ns\n");
        StringBuilder json = new StringBuilder("{\n  \"machine\": \"" + machine.replace("\"", "'") + "\",\n  \"throughput\": [\n");
        for (int i = 0; i < throughput.size(); i++) {
            Results.Throughput t = throughput.get(i);
            csv.append(String.format(Locale.ROOT, "throughput,%s,%s,%d,%.0f,%.0f,%s,,,,,,%d,%d,%d,%d,,,%s,%s,%s,,,,,,,,,%n", t.variant(),
                    t.workload(), t.size(), t.messagesPerSecond(), t.bytesPerSecond(), t.verified(), t.senderHeap(), t.senderDirect(),
                    t.receiverHeap(), t.receiverDirect(), csv(ratio(t, Variant.JDK)), csv(ratio(t, Variant.TCP)), csv(ratio(t, Variant.AERON))));
            json.append(String.format(Locale.ROOT, "    {\"variant\": \"%s\", \"flow\": \"%s\", \"size\": %d, \"msgsPerSecond\": %.0f, "
                    + "\"bytesPerSecond\": %.0f, \"verified\": %s, \"senderHeap\": %d, \"senderDirect\": %d, \"receiverHeap\": %d, "
                    + "\"receiverDirect\": %d, \"vsJdk\": %s, \"vsTcp\": %s, \"vsAeron\": %s}%s%n", t.variant(), t.workload(), t.size(),
                    t.messagesPerSecond(), t.bytesPerSecond(), t.verified(), t.senderHeap(), t.senderDirect(), t.receiverHeap(),
                    t.receiverDirect(), json(ratio(t, Variant.JDK)), json(ratio(t, Variant.TCP)), json(ratio(t, Variant.AERON)),
                    i < throughput.size() - 1 ? "," : ""));
        }
        json.append("  ],\n  \"latency\": [\n");
        for (int i = 0; i < latency.size(); i++) {
            Results.Latency l = latency.get(i);
            csv.append(String.format(Locale.ROOT, "latency,%s,pingpong,%d,,,,%d,%d,%d,%d,%d,,,,,%.3f,%.3f,,,,%d,%d,%d,%d,%s,%s,%.3f,%.4f,%d%n",
                    l.variant(), l.size(), l.p50(), l.p90(), l.p99(), l.p999(), l.max(), l.pingerCores(), l.echoCores(), l.coP50(), l.coP99(),
                    l.coP999(), l.pacedInterval(), csv(p50Ratio(l, Variant.JDK)), csv(p50Ratio(l, Variant.JDK_BUSY)), l.pace(), l.lateShare(),
                    l.pacedMaxLate()));
            json.append(String.format(Locale.ROOT, "    {\"variant\": \"%s\", \"size\": %d, \"count\": %d, \"p50\": %d, \"p90\": %d, "
                    + "\"p99\": %d, \"p999\": %d, \"max\": %d, \"pingerCores\": %.3f, \"echoCores\": %.3f, \"coP50\": %d, "
                    + "\"coP99\": %d, \"coP999\": %d, \"pacedInterval\": %d, \"p50VsJdk\": %s, \"p50VsJdkBusy\": %s, "
                    + "\"pace\": %.3f, \"pacedLateShare\": %.4f, \"pacedMaxLate\": %d}%s%n",
                    l.variant(), l.size(), l.count(), l.p50(), l.p90(), l.p99(), l.p999(), l.max(), l.pingerCores(), l.echoCores(),
                    l.coP50(), l.coP99(), l.coP999(), l.pacedInterval(), json(p50Ratio(l, Variant.JDK)), json(p50Ratio(l, Variant.JDK_BUSY)),
                    l.pace(), l.lateShare(), l.pacedMaxLate(),
                    i < latency.size() - 1 ? "," : ""));
        }
        json.append("  ]\n}\n");
        Files.writeString(directory.resolve("results.csv"), csv, StandardCharsets.UTF_8);
        Files.writeString(directory.resolve("results.json"), json, StandardCharsets.UTF_8);
        Files.writeString(directory.resolve("results.html"), html(), StandardCharsets.UTF_8);
    }

    private String html() {
        StringBuilder h = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\"><title>stagecrew benchmarks</title>"
                + "<style>body{font-family:sans-serif;margin:2em}text{font-size:12px}</style></head><body>"
                + "<h1>stagecrew benchmarks</h1><p>" + escape(machine) + "</p>");
        Set<String> flows = new LinkedHashSet<>();
        throughput.forEach(t -> flows.add(t.workload() + " " + bytes(t.size())));
        List<String> groups = new ArrayList<>(flows);
        h.append("<h2>One-way throughput (messages per second, log scale)</h2>");
        h.append(bars(groups, (variant, group) -> throughput.stream()
                .filter(t -> t.variant() == variant && (t.workload() + " " + bytes(t.size())).equals(group))
                .mapToDouble(Results.Throughput::messagesPerSecond).findFirst().orElse(0), true, "msgs/s"));
        Set<String> sizes = new LinkedHashSet<>();
        latency.forEach(l -> sizes.add("p50 " + bytes(l.size())));
        latency.forEach(l -> sizes.add("p99 " + bytes(l.size())));
        latency.forEach(l -> sizes.add("paced p99 " + bytes(l.size())));
        h.append("<h2>Ping-pong round trip (microseconds, lower is better)</h2>");
        h.append(bars(new ArrayList<>(sizes), (variant, group) -> latency.stream()
                .filter(l -> l.variant() == variant && group.endsWith(" " + bytes(l.size())))
                .mapToDouble(l -> (group.startsWith("p50") ? l.p50() : group.startsWith("p99") ? l.p99() : l.coP99()) / 1e3)
                .findFirst().orElse(0), false, "us"));
        h.append("<h2>All numbers</h2>").append(tables());
        return h.append("</body></html>\n").toString();
    }

    /** The console's tables as HTML: every measurement with its ratios, memory and CPU. */
    private String tables() {
        StringBuilder t = new StringBuilder("<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">"
                + "<tr><th>variant</th><th>flow</th><th>size</th><th>msgs/s</th><th>MB/s</th><th>vs jdk</th><th>vs tcp</th>"
                + "<th>vs aeron</th><th>checked</th><th>sender heap/direct</th><th>receiver heap/direct</th></tr>");
        for (Results.Throughput r : throughput) {
            t.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%,.0f</td><td>%,.1f</td><td>%s</td>"
                    + "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>", escape(r.variant().label), escape(r.workload()),
                    bytes(r.size()), r.messagesPerSecond(), r.bytesPerSecond() / 1e6, times(ratio(r, Variant.JDK)),
                    times(ratio(r, Variant.TCP)), times(ratio(r, Variant.AERON)),
                    r.verified() ? "yes" : "NO", mib(r.senderHeap()) + "/" + mib(r.senderDirect()),
                    mib(r.receiverHeap()) + "/" + mib(r.receiverDirect())));
        }
        t.append("</table><p></p><table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">"
                + "<tr><th>variant</th><th>size</th><th>p50 us</th><th>p90 us</th><th>p99 us</th><th>p99.9 us</th><th>max us</th>"
                + "<th>p50 vs jdk</th><th>p50 vs jdk busy</th><th>CPU cores (ping + echo)</th><th>paced every us</th>"
                + "<th>paced p50 us</th><th>paced p99 us</th><th>paced p99.9 us</th><th>pace</th><th>paced late</th>"
                + "<th>paced max late us</th></tr>");
        for (Results.Latency l : latency) {
            t.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td>"
                    + "<td>%.1f</td><td>%s</td><td>%s</td><td>%.2f + %.2f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td>"
                    + "<td>%.2f</td><td>%.1f %%</td><td>%.1f</td></tr>",
                    escape(l.variant().label), bytes(l.size()), l.p50() / 1e3, l.p90() / 1e3, l.p99() / 1e3, l.p999() / 1e3,
                    l.max() / 1e3, times(p50Ratio(l, Variant.JDK)), times(p50Ratio(l, Variant.JDK_BUSY)), l.pingerCores(),
                    l.echoCores(), l.pacedInterval() / 1e3, l.coP50() / 1e3, l.coP99() / 1e3, l.coP999() / 1e3, l.pace(),
                    100 * l.lateShare(), l.pacedMaxLate() / 1e3));
        }
        return t.append("</table>").toString();
    }

    private interface Value {
        double of(Variant variant, String group);
    }

    private String bars(List<String> groups, Value value, boolean log, String unit) {
        String[] colors = {"#1f77b4", "#2ca02c", "#17becf", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2"};
        Variant[] variants = Variant.values();
        int barHeight = 12;
        int groupHeight = variants.length * barHeight + 14;
        int width = 900;
        int labelWidth = 160;
        double max = 0;
        for (String g : groups) {
            for (Variant v : variants) {
                max = Math.max(max, value.of(v, g));
            }
        }
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">",
                width + 260, groups.size() * groupHeight + 20));
        int y = 10;
        for (String g : groups) {
            svg.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\">%s</text>", y + 12, escape(g)));
            for (int i = 0; i < variants.length; i++) {
                double v = value.of(variants[i], g);
                if (v <= 0) {
                    continue;
                }
                double fraction = log ? Math.log10(Math.max(v, 1)) / Math.log10(Math.max(max, 10)) : v / max;
                int w = (int) Math.max(1, fraction * width);
                int by = y + i * barHeight;
                svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                        + "<text x=\"%d\" y=\"%d\">%s %,.1f %s</text>", labelWidth, by, w, barHeight - 2, colors[i % colors.length],
                        labelWidth + w + 4, by + barHeight - 3, escape(variants[i].label), v, unit));
            }
            y += groupHeight;
        }
        return svg.append("</svg>").toString();
    }

    static String bytes(int size) {
        if (size >= 1024 * 1024 && size % (1024 * 1024) == 0) {
            return size / (1024 * 1024) + " MiB";
        }
        if (size >= 1024 && size % 1024 == 0) {
            return size / 1024 + " KiB";
        }
        return size + " B";
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0fM", bytes / 1048576.0);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
