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
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scale rows appear in the console table and in the CSV, JSON and HTML that {@link Report}
 * writes, without disturbing the other rows; and the ring keeps every token it was given.
 */
@Timeout(120)
class ScaleRowsTest {
    private static final List<ScaleResult> ROWS = List.of(
            new ScaleResult("fan-in", 1, 1, 64, 20_000_000, 1_000_000_000, true, 1.0, 20, 2, -1, -1),
            new ScaleResult("fan-in", 256, 4, 64, 18_000_000, 1_000_000_000, true, 0.9, 80, 2, -1, -1),
            new ScaleResult("ring", 1000, 1, 64, 500_000, 1_000_000_000, true, Double.NaN, 1015, 2, 40_000, 300_000));

    @TempDir
    Path dir;

    @Test
    void rowsAreAddedToEveryFileReportWrote() throws Exception {
        Results.Throughput other = new Results.Throughput(Variant.JDK, 1, 64, 1000, 1_000_000, true, 1, 2, 3, 4);
        new Report(List.of(other), List.of(), "test machine").write(dir);
        int columns = Files.readAllLines(dir.resolve("results.csv")).get(0).split(",", -1).length;

        new ScaleReport(ROWS).addTo(dir);

        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertEquals(5, csv.size(), String.join("\n", csv));
        assertTrue(csv.get(0).endsWith(",vs_1to1,jvm_threads,event_loop_threads,heap_per_transport,direct_per_transport"), csv.get(0));
        for (String line : csv) {
            assertEquals(columns + 5, line.split(",", -1).length, "every row has every column: " + line);
        }
        assertTrue(csv.get(3).startsWith("scale,") && csv.get(3).contains(",256->1 (4 JVMs),64,18000000,") && csv.get(3).endsWith(",0.900,80,2,,"),
                csv.get(3));
        assertTrue(csv.get(4).endsWith(",,1015,2,40000,300000"), csv.get(4));
        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"throughput\": [") && json.contains("\"scale\": [")
                && json.contains("{\"flow\": \"1000 in a ring (1 JVM)\", \"transports\": 1000, \"jvms\": 1, \"size\": 64, "
                + "\"msgsPerSecond\": 500000, \"verified\": true, \"vsOneToOne\": null, \"jvmThreads\": 1015, \"eventLoopThreads\": 2, "
                + "\"heapPerTransport\": 40000, \"directPerTransport\": 300000}"), json);
        assertTrue(json.trim().endsWith("]\n}") && json.indexOf("\"scale\"") > json.indexOf("\"latency\""), json);
        String html = Files.readString(dir.resolve("results.html"));
        assertTrue(html.contains("<h2>Scale (shared event loops)</h2>") && html.contains("<td>256-&gt;1 (4 JVMs)</td>")
                && html.indexOf("Scale (shared") < html.indexOf("</body>"), html);
    }

    @Test
    void theConsoleTableShowsRatesRatiosThreadsAndMemoryPerTransport() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new ScaleReport(ROWS).printTable(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String table = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("256->1 (4 JVMs)") && table.contains("18,000,000") && table.contains("0.90x"), table);
        assertTrue(table.contains("1000 in a ring (1 JVM)") && table.contains("39.1 KiB") && table.contains("293.0 KiB"), table);
    }

    @Test
    void aRingOfTransportsInOneJvmKeepsEveryTokenAndSharesEventLoops() throws Exception {
        int loopsBefore = Ring.eventLoopThreads(); // other tests of this JVM may have started other modes' shared groups
        String[] r = Ring.run(dir, 50, 4, 64, 200, 300).trim().split(" ");
        long forwarded = Long.parseLong(r[0]);
        assertTrue(forwarded > 0, "frames went round: " + String.join(" ", r));
        assertEquals("true", r[2], "every token still in the ring at the stop: " + String.join(" ", r));
        int added = Integer.parseInt(r[4]) - loopsBefore;
        assertTrue(added <= Runtime.getRuntime().availableProcessors() + 1,
                "event loop threads added for 50 transports: " + added + " (" + r[4] + " in all, " + loopsBefore + " before)");
    }
}
