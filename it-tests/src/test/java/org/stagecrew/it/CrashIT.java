package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;

/**
 * Two sender→receiver pairs stream checked frames; one receiver is killed with SIGKILL mid-stream.
 * Its sender's unfinished and later sends fail with typed errors within a bounded time, the other
 * pair goes on untouched, and a receiver restarted at the same address gets the resumed stream.
 *
 * <p>"Time to detect a dead peer" is measured from just before {@code kill()} to the sender's first
 * failed send, both read from {@code System.nanoTime()}, which on Linux is CLOCK_MONOTONIC and so
 * comparable between processes of one machine.
 */
@StagecrewTest
class CrashIT {
    static final Set<String> TYPED = Set.of("TransportClosedException", "PeerDiedException", "ConnectionRefusedException", "UnknownAddressException");
    static final Duration DETECT_BOUND = Duration.ofSeconds(10);
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String[] JVM = {"-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};

    final Reports.Pending pending = new Reports.Pending(WAIT);

    Reports.Report await(Transport me, String kind, Address from) {
        return pending.await(me, kind, from);
    }

    Concurrency receiver(Stage stage, String name, Address sender, int index) {
        return stage.process(CrashTasks.Receiver.class).name(name).fileName(name + ".sock").jvmOptions(JVM)
                .peers(sender).arguments(Integer.toString(index)).start();
    }

    Concurrency sender(Stage stage, String name, Address receiver, int index) {
        return stage.process(CrashTasks.Sender.class).name(name).fileName(name + ".sock").jvmOptions(JVM)
                .peers(receiver).arguments(Integer.toString(index)).start();
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aKilledReceiverFailsItsSendersSendsWithTypedErrorsLeavesOtherPairsAloneAndCanBeRestartedAtItsAddress(Stage stage) {
        Transport me = stage.transport();
        Address r1 = stage.address("r1.sock"), r2 = stage.address("r2.sock");
        Address s1 = stage.address("s1.sock"), s2 = stage.address("s2.sock");
        Concurrency victim = receiver(stage, "r1", s1, 1);
        receiver(stage, "r2", s2, 2);
        sender(stage, "s1", r1, 1);
        sender(stage, "s2", r2, 2);
        Reports.send(me, s1, "GO");
        Reports.send(me, s2, "GO");
        await(me, "PROGRESS", r1);
        await(me, "PROGRESS", r2);

        long killedAt = System.nanoTime();
        victim.kill();
        long killReturnedAt = System.nanoTime();
        Reports.Report dead = await(me, "DEAD", s1);
        long reportedAt = System.nanoTime();

        long detectMillis = TimeUnit.NANOSECONDS.toMillis(dead.number("failedAt") - killedAt);
        long settleMillis = TimeUnit.NANOSECONDS.toMillis(dead.number("settledAt") - killedAt);
        // A peer that dies mid-stream may show up as ECONNRESET on read; the design promises a typed
        // error (TransportClosedException) for it, not the TransportException root.
        assertTrue(TYPED.contains(dead.get("firstType")), () -> "first failure is typed: " + dead);
        for (String type : dead.get("pendingTypes").split(",")) {
            if (!type.isEmpty()) {
                assertTrue(TYPED.contains(type.substring(0, type.indexOf(':'))), () -> "unfinished sends fail typed: " + dead);
            }
        }
        assertEquals(0, dead.number("stillPending"), () -> "every unfinished send finished: " + dead);
        for (String later : dead.get("later").split(",")) {
            assertTrue(TYPED.contains(later), () -> "later sends fail typed: " + dead);
        }
        assertTrue(detectMillis < DETECT_BOUND.toMillis(), () -> "dead peer detected in " + detectMillis + " ms: " + dead);
        assertTrue(settleMillis < DETECT_BOUND.toMillis(), () -> "unfinished sends settled " + settleMillis + " ms after the kill");
        assertTrue(dead.number("laterMaxMs") < DETECT_BOUND.toMillis(), () -> "later sends fail fast: " + dead);

        Concurrency restarted = receiver(stage, "r1", s1, 1);
        assertEquals(r1, restarted.address(), "the restarted receiver binds the same address");
        Reports.send(me, s1, "RESUME");
        await(me, "PROGRESS", r1);
        Reports.send(me, s1, "END");
        Reports.Report resumed = await(me, "DONE", s1);
        Reports.Report r1Saw = await(me, "RECEIVED", r1);
        assertEquals(0, resumed.number("failures"), () -> "resumed traffic has no failures: " + resumed);
        assertEquals(0, r1Saw.number("errors"), () -> "restarted receiver saw: " + r1Saw);
        assertEquals(resumed.number("sent"), r1Saw.number("inOrder"), () -> "every resumed frame arrived in order: " + r1Saw);

        Reports.send(me, s2, "END");
        Reports.Report other = await(me, "DONE", s2);
        Reports.Report r2Saw = await(me, "RECEIVED", r2);
        assertEquals(0, other.number("failures"), () -> "the other pair had no failure: " + other);
        assertEquals(0, r2Saw.number("errors"), () -> "the other receiver saw: " + r2Saw);
        assertEquals(other.number("sent"), r2Saw.number("inOrder"), () -> "the other pair lost nothing: " + r2Saw);

        System.out.printf("[CrashIT] time to detect a dead peer (SIGKILL -> first failed send): %d ms; all %d unfinished sends"
                        + " settled after %d ms (%d written before the death, failed: %s); later sends: %s (max %d ms); kill() took %d ms;"
                        + " DEAD report reached the test after %d ms%n",
                detectMillis, dead.number("unfinished"), settleMillis, dead.number("pendingOk"), dead.get("pendingTypes"),
                dead.get("later"), dead.number("laterMaxMs"), TimeUnit.NANOSECONDS.toMillis(killReturnedAt - killedAt),
                TimeUnit.NANOSECONDS.toMillis(reportedAt - killedAt));
        System.out.printf("[CrashIT] first failure: %s: %s%n", dead.get("firstType"), dead.get("firstMessage").replace('_', ' '));
        System.out.printf("[CrashIT] s1 sent %d frames before the kill; after the restart %d frames, all received in order;"
                        + " the other pair: %d frames, %d bytes, no failure, all in order%n",
                dead.number("sentBeforeDeath"), resumed.number("sent"), other.number("sent"), r2Saw.number("bytes"));
    }
}
