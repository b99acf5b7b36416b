package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;

/** Runs a mesh of {@link MeshTask} units on a stage and checks every unit's report. */
final class Mesh {
    /** Small JVMs: the mesh's units each hold a few MiB of frames at most. */
    static final String[] UNIT_JVM = {"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"};

    private Mesh() {
    }

    /** What a mesh run saw. */
    record Result(List<Reports.Report> reports, long frames, long bytes, long millis) {
    }

    /**
     * Starts one unit per entry of {@code modes} (unit i in mode i), bound to {@code m<i>.sock},
     * sends GO to all, waits until all are connected to each other, sends BULK, collects their reports and asserts that each unit received every frame of
     * every other unit, intact and in order.
     */
    static Result run(Stage stage, List<IoMode> modes, int frames, int minLength, int maxLength, Duration timeout) throws Exception {
        int units = modes.size();
        Address[] addresses = new Address[units];
        for (int i = 0; i < units; i++) {
            addresses[i] = stage.address("m" + i + ".sock");
        }
        Transport me = stage.transport();
        List<CompletableFuture<Concurrency>> starting = new ArrayList<>();
        ExecutorService starter = Executors.newFixedThreadPool(Math.min(units, 4));
        try {
            for (int i = 0; i < units; i++) {
                int index = i;
                starting.add(CompletableFuture.supplyAsync(() -> stage.process(MeshTask.class).name("mesh-" + index)
                        .fileName("m" + index + ".sock").ioMode(modes.get(index)).jvmOptions(UNIT_JVM).peers(addresses)
                        .arguments(Integer.toString(index), Integer.toString(frames), Integer.toString(minLength),
                                Integer.toString(maxLength))
                        .start(), starter));
            }
            for (CompletableFuture<Concurrency> f : starting) {
                f.get(90, TimeUnit.SECONDS);
            }
        } finally {
            starter.shutdown();
        }
        long start = System.nanoTime();
        for (Address unit : addresses) {
            Reports.send(me, unit, "GO");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int i = 0; i < units; i++) {
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            Reports.Report connected = Reports.receive(me, left, "CONNECTED report (" + i + " of " + units + " so far)");
            assertEquals("CONNECTED", connected.kind(), () -> "unexpected report " + connected);
        }
        for (Address unit : addresses) {
            Reports.send(me, unit, "BULK");
        }
        List<Reports.Report> reports = new ArrayList<>();
        for (int i = 0; i < units; i++) {
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            reports.add(Reports.receive(me, left, "MESH report (" + reports.size() + " of " + units + " so far)"));
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        long totalFrames = 0;
        long totalBytes = 0;
        for (Reports.Report r : reports) {
            int index = (int) r.number("index");
            assertEquals(addresses[index], r.sender(), "report of unit " + index + " comes from its address");
            assertEquals(0, r.number("errors"), () -> "unit " + index + " saw problems: " + r);
            assertEquals(r.number("expected"), r.number("frames"), () -> "unit " + index + " did not receive everything: " + r);
            assertEquals((long) frames * (units - 1), r.number("frames"), () -> "unit " + index + ": " + r);
            String[] perSender = r.get("perSender").split(",");
            for (int s = 0; s < units; s++) {
                long expected = s == index ? 0 : frames;
                assertEquals(expected, Long.parseLong(perSender[s]), "unit " + index + ": frames in order from unit " + s);
            }
            assertTrue(Boolean.parseBoolean(r.get("flushed")), () -> "unit " + index + " could not flush its sends: " + r);
            assertEquals(modes.get(index).name(), r.get("mode"), "unit " + index + " ran in its mode");
            totalFrames += r.number("frames");
            totalBytes += r.number("bytes");
        }
        return new Result(reports, totalFrames, totalBytes, millis);
    }
}
