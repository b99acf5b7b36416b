package org.stagecrew.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Adds the scale rows to a run's output: a console table, and rows of kind {@code scale} in the
 * {@code results.csv}, {@code results.json} and {@code results.html} that {@link Report} wrote (the
 * CSV gains its columns at the end, empty in the other rows; the JSON a {@code "scale"} array; the
 * HTML a table).
 */
final class ScaleReport {
    private static final String CSV_COLUMNS = "vs_1to1,jvm_threads,event_loop_threads,heap_per_transport,direct_per_transport";

    private final List<ScaleResult> rows;

    ScaleReport(List<ScaleResult> rows) {
        this.rows = rows;
    }

    void printTable(PrintStream out) {
        if (rows.isEmpty()) {
            return;
        }
        out.printf("%nScale, stagecrew %s, default configuration (shared event loops)%n", Variant.EPOLL.mode.isAvailable() ? "epoll" : "nio");
        out.printf("%-24s %8s %15s %9s %9s %12s %14s %14s %8s%n", "flow", "size", "msgs/s", "vs 1->1", "threads", "event loops",
                "heap/transport", "direct/transp.", "checked");
        for (ScaleResult r : rows) {
            out.printf("%-24s %8s %,15.0f %9s %9d %12d %14s %14s %8s%n", r.flow(), Report.bytes(r.size()), r.messagesPerSecond(),
                    ratio(r), r.threads(), r.loopThreads(), kib(r.heapPerTransport()), kib(r.directPerTransport()),
                    r.verified() ? "yes" : "NO");
        }
    }

    /** Adds the rows to the files {@link Report#write} wrote in {@code directory}. */
    void addTo(Path directory) throws IOException {
        if (rows.isEmpty()) {
            return;
        }
        Path csv = directory.resolve("results.csv");
        Files.writeString(csv, csv(Files.readString(csv)), StandardCharsets.UTF_8);
        Path json = directory.resolve("results.json");
        Files.writeString(json, json(Files.readString(json)), StandardCharsets.UTF_8);
        Path html = directory.resolve("results.html");
        Files.writeString(html, Files.readString(html).replace("</body>", html() + "</body>"), StandardCharsets.UTF_8);
    }

    /** The CSV with the scale columns added to the header (and left empty in every other row), then the scale rows. */
    String csv(String written) {
        String[] lines = written.split("\n");
        List<String> header = List.of(lines[0].split(",", -1));
        int extra = CSV_COLUMNS.split(",").length;
        StringBuilder out = new StringBuilder(lines[0]).append(',').append(CSV_COLUMNS).append('\n');
        for (int i = 1; i < lines.length; i++) {
            out.append(lines[i]).append(",".repeat(extra)).append('\n');
        }
        for (ScaleResult r : rows) {
            String[] cells = new String[header.size()];
            java.util.Arrays.fill(cells, "");
            set(cells, header, "kind", "scale");
            set(cells, header, "variant", Variant.EPOLL.mode.isAvailable() ? "EPOLL" : "NIO");
            set(cells, header, "flow", r.flow());
            set(cells, header, "size", Integer.toString(r.size()));
            set(cells, header, "msgs_per_s", String.format(Locale.ROOT, "%.0f", r.messagesPerSecond()));
            set(cells, header, "bytes_per_s", String.format(Locale.ROOT, "%.0f", r.messagesPerSecond() * r.size()));
            set(cells, header, "verified", Boolean.toString(r.verified()));
            out.append(String.join(",", cells)).append(',')
                    .append(Double.isNaN(r.vsOneToOne()) ? "" : String.format(Locale.ROOT, "%.3f", r.vsOneToOne())).append(',')
                    .append(r.threads()).append(',').append(r.loopThreads()).append(',')
                    .append(r.heapPerTransport() < 0 ? "" : r.heapPerTransport()).append(',')
                    .append(r.directPerTransport() < 0 ? "" : r.directPerTransport()).append('\n');
        }
        return out.toString();
    }

    private static void set(String[] cells, List<String> header, String column, String value) {
        int i = header.indexOf(column);
        if (i >= 0) {
            cells[i] = value;
        }
    }

    /** The JSON with a {@code "scale"} array added as its last member. */
    String json(String written) {
        int end = written.lastIndexOf('}');
        StringBuilder scale = new StringBuilder(",\n  \"scale\": [\n");
        for (int i = 0; i < rows.size(); i++) {
            ScaleResult r = rows.get(i);
            scale.append(String.format(Locale.ROOT, "    {\"flow\": \"%s\", \"transports\": %d, \"jvms\": %d, \"size\": %d, "
                    + "\"msgsPerSecond\": %.0f, \"verified\": %s, \"vsOneToOne\": %s, \"jvmThreads\": %d, \"eventLoopThreads\": %d, "
                    + "\"heapPerTransport\": %s, \"directPerTransport\": %s}%s%n", r.flow(), r.transports(), r.jvms(), r.size(),
                    r.messagesPerSecond(), r.verified(), Double.isNaN(r.vsOneToOne()) ? "null" : String.format(Locale.ROOT, "%.3f",
                    r.vsOneToOne()), r.threads(), r.loopThreads(), r.heapPerTransport() < 0 ? "null" : r.heapPerTransport(),
                    r.directPerTransport() < 0 ? "null" : r.directPerTransport(), i < rows.size() - 1 ? "," : ""));
        }
        String body = written.substring(0, end).stripTrailing();
        return body + scale + "  ]\n}\n";
    }

    private String html() {
        StringBuilder t = new StringBuilder("<h2>Scale (shared event loops)</h2><table border=\"1\" cellpadding=\"4\" "
                + "style=\"border-collapse:collapse\"><tr><th>flow</th><th>size</th><th>msgs/s</th><th>vs 1-&gt;1</th>"
                + "<th>threads</th><th>event loops</th><th>heap per transport</th><th>direct per transport</th><th>checked</th></tr>");
        for (ScaleResult r : rows) {
            t.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%,.0f</td><td>%s</td><td>%d</td><td>%d</td>"
                    + "<td>%s</td><td>%s</td><td>%s</td></tr>", r.flow().replace(">", "&gt;"), Report.bytes(r.size()),
                    r.messagesPerSecond(), ratio(r), r.threads(), r.loopThreads(), kib(r.heapPerTransport()),
                    kib(r.directPerTransport()), r.verified() ? "yes" : "NO"));
        }
        return t.append("</table>").toString();
    }

    private static String ratio(ScaleResult r) {
        return Double.isNaN(r.vsOneToOne()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.vsOneToOne());
    }

    private static String kib(long bytes) {
        return bytes < 0 ? "-" : String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
}
