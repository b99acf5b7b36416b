package org.stagecrew.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's ratio columns: against Aeron, TCP and the plain-JDK baselines, in every output, and "-" when a baseline did not run. */
class ReportTest {
    @TempDir
    Path dir;

    // 64 B: epoll 20 M/s against Aeron 10 M/s (2x) and JDK 1 M/s (20x); 1 KiB: Aeron only, no JDK row.
    private final List<Results.Throughput> throughput = List.of(
            throughput(Variant.EPOLL, 64, 20_000_000), throughput(Variant.AERON, 64, 10_000_000), throughput(Variant.JDK, 64, 1_000_000),
            throughput(Variant.EPOLL, 1024, 3_000_000), throughput(Variant.AERON, 1024, 4_000_000));
    // p50: busy-poll 8 us against the busy JDK floor 5 us (1.6x); epoll 20 us against blocking JDK 16 us (1.25x).
    private final List<Results.Latency> latency = List.of(latency(Variant.EPOLL, 20_000), latency(Variant.EPOLL_BUSY, 8_000),
            latency(Variant.JDK, 16_000), latency(Variant.JDK_BUSY, 5_000), latency(Variant.AERON, 4_000));
    private final Report report = new Report(throughput, latency, "test machine");

    @Test
    void ratiosCompareTheSameFlowAndSizeAndAreNaNWithoutABaselineRow() {
        assertEquals(2.0, report.ratio(throughput.get(0), Variant.AERON), 1e-9);
        assertEquals(20.0, report.ratio(throughput.get(0), Variant.JDK), 1e-9);
        assertEquals(0.75, report.ratio(throughput.get(3), Variant.AERON), 1e-9);
        assertTrue(Double.isNaN(report.ratio(throughput.get(3), Variant.JDK)), "no JDK row at 1 KiB");
        assertEquals(1.6, report.p50Ratio(latency.get(1), Variant.JDK_BUSY), 1e-9);
        assertEquals(1.25, report.p50Ratio(latency.get(0), Variant.JDK), 1e-9);
        assertEquals("-", Report.times(Double.NaN));
        assertEquals("0.75x", Report.times(0.75));
    }

    @Test
    void theConsoleTablesShowVsAeronAndBusyPollAgainstItsJdkFloor() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        report.printTables(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();

        assertTrue(line(lines, "variant ", "flow").contains("vs aeron"), "throughput header");
        String epoll64 = line(lines, "stagecrew epoll ", "64 B");
        assertTrue(epoll64.contains("2.00x") && epoll64.contains("20.00x"), epoll64);
        String epoll1k = line(lines, "stagecrew epoll ", "1 KiB");
        assertTrue(epoll1k.contains("0.75x") && epoll1k.contains(" - "), epoll1k);
        assertTrue(line(lines, "variant ", "p50").contains("vs jdk busy"), "latency header");
        String busy = lines.stream().filter(l -> l.startsWith("stagecrew epoll busy-poll")).findFirst().orElseThrow();
        assertTrue(busy.contains("1.60x") && busy.contains("0.50x"), "busy-poll p50 vs jdk busy 1.60x, vs jdk 0.50x: " + busy);
        assertTrue(lines.stream().anyMatch(l -> l.contains("coordinated omission")), "the paced table");
        String paced = lines.get(lines.indexOf(lines.stream().filter(l -> l.contains("coordinated omission")).findFirst().orElseThrow()) + 2);
        assertTrue(paced.startsWith("stagecrew epoll ") && paced.contains("0.25") && paced.contains("0.3%") && paced.contains("40.0"),
                "pace, late share and max lateness of the paced run: " + paced);
    }

    @Test
    void csvJsonAndHtmlCarryTheSameRatios() throws Exception {
        report.write(dir);
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        List<String> header = List.of(csv.get(0).split(",", -1));
        String[] epoll64 = csv.get(1).split(",", -1);
        assertEquals(header.size(), epoll64.length, "every row has every column: " + csv.get(1));
        assertEquals("2.000", epoll64[header.indexOf("vs_aeron")]);
        assertEquals("20.000", epoll64[header.indexOf("vs_jdk")]);
        assertEquals("", epoll64[header.indexOf("vs_tcp")], "no TCP row");
        String[] busy = csv.stream().filter(l -> l.startsWith("latency,EPOLL_BUSY,")).findFirst().orElseThrow().split(",", -1);
        assertEquals(header.size(), busy.length);
        assertEquals("1.600", busy[header.indexOf("p50_vs_jdk_busy")]);
        assertEquals("3000", busy[header.indexOf("co_p99_ns")]);
        assertEquals("0.250", busy[header.indexOf("pace")]);
        assertEquals("0.0025", busy[header.indexOf("paced_late_share")]);
        assertEquals("40000", busy[header.indexOf("paced_max_late_ns")]);

        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"vsAeron\": 2.000"), json);
        assertTrue(json.contains("\"vsJdk\": null"), "1 KiB has no JDK row: " + json);
        assertTrue(json.contains("\"p50VsJdkBusy\": 1.600"), json);
        assertTrue(json.contains("\"pace\": 0.250, \"pacedLateShare\": 0.0025, \"pacedMaxLate\": 40000"), json);

        String html = Files.readString(dir.resolve("results.html"));
        assertTrue(html.contains("<th>vs aeron</th>") && html.contains("<td>0.75x</td>"), "HTML table");
        assertTrue(html.contains("<th>p50 vs jdk busy</th>") && html.contains("<td>1.60x</td>"), "HTML latency table");
        assertTrue(html.contains("<th>paced late</th>") && html.contains("<td>0.3 %</td>"), "HTML late share");
    }

    private static String line(List<String> lines, String start, String containing) {
        return lines.stream().filter(l -> l.startsWith(start) && l.contains(containing)).findFirst().orElse("");
    }

    private static Results.Throughput throughput(Variant variant, int size, long perSecond) {
        return new Results.Throughput(variant, 1, size, perSecond, 1_000_000_000L, true, 1 << 20, 1 << 20, 1 << 20, 1 << 20);
    }

    private static Results.Latency latency(Variant variant, long p50) {
        // 25 of the 10,000 paced pings left late, the latest by 40 us
        return new Results.Latency(variant, 64, 10_000, p50, 2 * p50, 3 * p50, 4 * p50, 5 * p50, 0.5, 0.5, p50 + 100, 3_000,
                6_000, 4 * p50, 0.25, 25, 40_000);
    }
}
