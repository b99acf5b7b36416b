package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.TransportTimeoutException;

/**
 * A unit in a JVM started with {@code -Xmx64m} and nothing else (so 64 MiB of direct memory, less
 * than the 64 MiB inbox default of a larger JVM) reads nothing while the test floods it: its inbox
 * fills to its default capacity, it stops reading, its socket fills, and the sender is
 * back-pressured, on one connection that is never lost. Before the inbox default followed the
 * JVM's direct memory, the unit's reads ran out of memory first: it closed the connection, and
 * again after each reconnect's hello.
 */
@StagecrewTest
class SmallJvmIT {
    static final Duration WAIT = Duration.ofSeconds(30);
    /** How long a send waits for room before the flood counts as back-pressured. */
    static final Duration BLOCKED = Duration.ofSeconds(2);
    /** How long the flood may go on: seconds, where the pipe fills in well under one. */
    static final Duration FLOOD = Duration.ofSeconds(30);
    /** Large enough that the inbox's byte capacity, not its 65,536 frames, is what fills. */
    static final int PAYLOAD = 16 * 1024;
    /** 1.6 GB: far more than the unit's memory, its socket and our queue hold together. */
    static final int MAX_FRAMES = 100_000;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aDeafUnitInASmallJvmStopsReadingAndBackPressuresItsSenderInsteadOfRunningOutOfDirectMemory(Stage stage)
            throws Exception {
        Transport me = stage.transport();
        Concurrency unit = stage.process(DeathTasks.Deaf.class).name("deaf").fileName("deaf.sock")
                .jvmOptions("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1").start();
        Address address = unit.address();
        long pid = unit.pid().orElseThrow(() -> new AssertionError("a process unit has a pid once started"));
        me.send(address, payload()).get(WAIT.toMillis(), TimeUnit.MILLISECONDS); // connected, hello answered

        long queued = 1;
        TransportTimeoutException refused = null;
        long deadline = System.nanoTime() + FLOOD.toNanos();
        while (refused == null && queued < MAX_FRAMES && System.nanoTime() - deadline < 0) {
            try {
                me.send(address, payload(), BLOCKED);
                queued++;
            } catch (TransportTimeoutException e) {
                refused = e;
            }
        }
        long attempts = queued + 1;
        assertTrue(refused != null, () -> attempts + " frames of " + PAYLOAD + " bytes queued in " + FLOOD.toSeconds()
                + " s without back-pressure: " + me.stats());
        TransportStats stats = me.stats();
        String seen = attempts + " sends, the last back-pressured for " + BLOCKED.toMillis() + " ms; " + stats;
        assertEquals(0, stats.get(TransportCounter.CONNECTIONS_LOST), () -> "the unit never dropped the connection: " + seen);
        assertEquals(0, stats.get(TransportCounter.RECONNECTS), () -> "one connection throughout: " + seen);
        assertEquals(1, stats.get(TransportCounter.SENDS_FAILED), () -> "only the back-pressured send failed: " + seen);
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the unit is alive");
        long written = stats.get(TransportCounter.FRAMES_SENT);
        long writtenBytes = stats.get(TransportCounter.BYTES_SENT);
        assertTrue(writtenBytes < 64L << 20, () -> "the unit stopped reading within its memory: " + seen);
        assertTrue(stats.get(TransportCounter.QUEUED_BYTES) > me.config().writeBufferLowWaterMark(),
                () -> "the queued-bytes gauge shows the full queue: " + seen);

        unit.kill();
        assertTrue(me.flush(WAIT), "the queued frames fail once the unit is gone");
        TransportStats after = me.stats();
        long died = after.get(TransportCounter.SENDS_FAILED) - 1;
        assertEquals(attempts, after.get(TransportCounter.FRAMES_SENT) + after.get(TransportCounter.SENDS_FAILED),
                () -> "every send is written or failed: " + attempts + " sends; " + after);
        System.out.printf("[SmallJvmIT] -Xmx64m unit: %,d frames of %d bytes written (%.1f MiB) and %,d bytes queued before a send"
                + " was back-pressured for %d ms, on one connection; %,d queued frames failed after the kill%n", written, PAYLOAD,
                writtenBytes / (double) (1 << 20), stats.get(TransportCounter.QUEUED_BYTES), BLOCKED.toMillis(), died);
    }

    private static ByteBuf payload() {
        return PooledByteBufAllocator.DEFAULT.directBuffer(PAYLOAD).writeZero(PAYLOAD);
    }
}
