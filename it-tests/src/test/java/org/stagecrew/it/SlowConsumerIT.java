package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;

/**
 * A producer process pushes 1 GiB (16,384 frames of 64 KiB) at a consumer process that is made
 * slower than the producer's unthrottled rate, measured first in the same run, by about 100x, or
 * as much as lets 1 GiB flow in {@link #SLOW_PHASE_BUDGET}: back-pressure slows the producer down,
 * its live heap (what garbage collection leaves) and direct memory stay under {@link #HEAP_BOUND}
 * and {@link #DIRECT_BOUND} for the whole run, and every frame arrives intact and in order.
 *
 * <p>On the 2-core machine, with PARANOID leak detection and CRC32 on both sides, the unthrottled
 * rate is in the low hundreds of MiB/s, so the time budget, not the 100x, decides the pace: the
 * test prints the ratio it achieved.
 */
@StagecrewTest
class SlowConsumerIT {
    static final int CALIBRATION_FRAMES = 2_048;       // 128 MiB
    static final int SLOW_FRAMES = 16_384;             // 1 GiB
    static final long SLOWDOWN = 100;
    static final Duration SLOW_PHASE_BUDGET = Duration.ofSeconds(35);
    static final long HEAP_BOUND = 64L << 20;          // live heap after GC, of a 256 MiB heap; the data is 1 GiB
    static final long DIRECT_BOUND = 64L << 20;
    static final Duration WAIT = Duration.ofSeconds(120);

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aProducerPushingOneGibAtAHundredTimesSlowerConsumerStaysInBoundedMemoryAndLosesNothing(Stage stage) {
        Transport me = stage.transport();
        Address consumer = stage.process(SlowTasks.Consumer.class).name("consumer").fileName("consumer.sock")
                .jvmOptions("-Xmx256m", "-XX:+UseSerialGC").peers(stage.address("producer.sock")).start().address();
        Address producer = stage.process(SlowTasks.Producer.class).name("producer").fileName("producer.sock")
                .jvmOptions("-Xmx256m", "-XX:MaxDirectMemorySize=256m", "-XX:+UseSerialGC").peers(consumer).start().address();

        Map<String, Reports.Report> fast = phase(me, consumer, producer, 0, CALIBRATION_FRAMES);
        long fastNanosPerFrame = TimeUnit.MILLISECONDS.toNanos(fast.get("CONSUMED").number("ms")) / CALIBRATION_FRAMES;
        long pace = Math.min(SLOWDOWN * fastNanosPerFrame, SLOW_PHASE_BUDGET.toNanos() / SLOW_FRAMES);

        Map<String, Reports.Report> slow = phase(me, consumer, producer, pace, SLOW_FRAMES);

        Reports.Report sent = slow.get("SENT");
        Reports.Report consumed = slow.get("CONSUMED");
        assertEquals(0, consumed.number("errors"), consumed::toString);
        assertEquals(CALIBRATION_FRAMES + SLOW_FRAMES, consumed.number("inOrder"), () -> "every frame arrived in order: " + consumed);
        assertTrue(Boolean.parseBoolean(sent.get("flushed")), sent::toString);
        long peakHeap = sent.number("peakLiveHeap");
        long peakDirect = Math.max(sent.number("peakDirectPool"), sent.number("peakNettyDirect"));
        assertTrue(peakHeap < HEAP_BOUND, () -> "producer live heap peaked at " + mib(peakHeap) + " MiB: " + sent);
        assertTrue(peakDirect < DIRECT_BOUND, () -> "producer direct memory peaked at " + mib(peakDirect) + " MiB: " + sent);

        double fastMiBps = CALIBRATION_FRAMES * (double) SlowTasks.FRAME / (1 << 20) / (fast.get("CONSUMED").number("ms") / 1000.0);
        double slowMiBps = SLOW_FRAMES * (double) SlowTasks.FRAME / (1 << 20) / (consumed.number("ms") / 1000.0);
        System.out.printf("[SlowConsumerIT] unthrottled: %,d frames of 64 KiB in %,d ms (%.0f MiB/s); consumer paced at %,d us/frame"
                        + " = %.0fx slower%s%n", CALIBRATION_FRAMES, fast.get("CONSUMED").number("ms"), fastMiBps,
                TimeUnit.NANOSECONDS.toMicros(pace), (double) pace / fastNanosPerFrame,
                pace < SLOWDOWN * fastNanosPerFrame ? " (capped so that 1 GiB flows within " + SLOW_PHASE_BUDGET.toSeconds() + " s)" : "");
        System.out.printf("[SlowConsumerIT] slow phase: %,d frames, %,d bytes in %,d ms (%.0f MiB/s), all intact and in order;"
                        + " producer peaks over %s samples: heap used %.1f MiB, live heap after GC %.1f MiB (bound %d), direct pool %.1f MiB, Netty direct %s MiB"
                        + " (bound %d)%n", SLOW_FRAMES, consumed.number("bytes") - fast.get("CONSUMED").number("bytes"),
                consumed.number("ms"), slowMiBps, sent.get("samples"), mib(sent.number("peakHeap")), mib(peakHeap), HEAP_BOUND >> 20,
                mib(sent.number("peakDirectPool")), sent.number("peakNettyDirect") < 0 ? "n/a" : String.format("%.1f",
                        mib(sent.number("peakNettyDirect"))), DIRECT_BOUND >> 20);
    }

    static double mib(long bytes) {
        return bytes / (double) (1 << 20);
    }

    /** Runs one phase: the consumer expects {@code frames} at {@code pace} ns each, the producer sends them. */
    static Map<String, Reports.Report> phase(Transport me, Address consumer, Address producer, long pace, int frames) {
        Reports.send(me, consumer, "PHASE " + pace + " " + frames);
        Reports.send(me, producer, "RUN " + frames);
        Map<String, Reports.Report> reports = new HashMap<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (reports.size() < 2) {
            Reports.Report r = Reports.receive(me, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())),
                    "SENT and CONSUMED reports (have " + reports.keySet() + ")");
            reports.put(r.kind(), r);
        }
        return reports;
    }
}
