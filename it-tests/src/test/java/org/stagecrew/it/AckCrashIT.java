package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Delivery;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/**
 * Issue 14, the crash suite of acknowledged delivery: a sender process streams {@value #FRAMES}
 * sequence-numbered, checksummed frames in {@link Delivery#acknowledged} delivery to a receiver
 * process, which is SIGKILLed at a kill point (after some frames, or while its inbox is full) and
 * restarted at the same address about a second later. Every frame is accounted for: consumed by the
 * first or the second incarnation (each records what it consumed in a memory-mapped file, which a
 * SIGKILL does not lose), or failed at the sender. Silently lost: 0; consumed twice by one
 * incarnation: 0; out of order within an incarnation: 0.
 */
@StagecrewTest
class AckCrashIT {
    static final int FRAMES = 200_000;
    static final int WINDOW = 8_192;
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String[] JVM = {"-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};

    @ParameterizedTest(name = "killed after {0} frames consumed, inbox full: {1}")
    @CsvSource({"20000, false", "120000, false", "50000, true"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyFrameIsConsumedOnceByAnIncarnationOrFailedTypedAfterASigkillAndARestart(long killAfter, boolean inboxFull, Stage stage)
            throws Exception {
        Transport me = stage.transport();
        Path dir = stage.logDirectory();
        String tag = killAfter + (inboxFull ? "-full" : "");
        Path first = dir.resolve("consumed-1-" + tag + ".bin");
        Path second = dir.resolve("consumed-2-" + tag + ".bin");
        Path failed = dir.resolve("failed-" + tag + ".bin");
        Address receiverAddress = stage.address("r.sock");

        Concurrency victim = receiver(stage, first, inboxFull ? killAfter : -1, inboxFull);
        // transportConfig first: it replaces the whole configuration, file name included.
        stage.process(AckTasks.Sender.class).name("sender")
                .transportConfig(stage.config().toBuilder().delivery(Delivery.acknowledged(Duration.ofSeconds(30))).build())
                .fileName("s.sock").jvmOptions(JVM).peers(receiverAddress)
                .arguments(failed.toString(), Integer.toString(FRAMES), Integer.toString(WINDOW)).start();
        MappedByteBuffer watch = AckTasks.map(first, AckTasks.HEADER + FRAMES);
        if (inboxFull) {
            Await.until("the first receiver stalled with frames unconsumed", WAIT, () -> watch.getLong(24) == 1);
        } else {
            Await.until("the first receiver consumed " + killAfter + " frames", WAIT, () -> watch.getLong(0) >= killAfter);
        }
        victim.kill();
        long killedAt = System.nanoTime();
        Thread.sleep(1_000); // the scenario: the destination stays down for about a second (not a synchronisation)
        receiver(stage, second, -1, false);
        long restartedAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        Reports.Report done = new Reports.Pending(Duration.ofSeconds(100)).await(me, "DONE", stage.address("s.sock"));

        byte[] c1 = Files.readAllBytes(first);
        byte[] c2 = Files.readAllBytes(second);
        byte[] f = Files.readAllBytes(failed);
        long consumed1 = 0, consumed2 = 0, both = 0, failedCount = 0, lost = 0, dup1 = 0, dup2 = 0, failedButConsumed = 0;
        for (int s = 0; s < FRAMES; s++) {
            int a = c1[AckTasks.HEADER + s], b = c2[AckTasks.HEADER + s];
            consumed1 += a > 0 ? 1 : 0;
            consumed2 += b > 0 ? 1 : 0;
            both += a > 0 && b > 0 ? 1 : 0;
            dup1 += a > 1 ? 1 : 0;
            dup2 += b > 1 ? 1 : 0;
            failedCount += f[s];
            lost += a == 0 && b == 0 && f[s] == 0 ? 1 : 0;
            failedButConsumed += f[s] == 1 && (a > 0 || b > 0) ? 1 : 0;
        }
        java.nio.ByteBuffer h1 = java.nio.ByteBuffer.wrap(c1), h2 = java.nio.ByteBuffer.wrap(c2);
        System.out.printf("[AckCrashIT] | %-22s | %7d | %13d | %13d | %11d | %6d | %4d | %16d | %10d ms | %s ms |%n",
                "after " + killAfter + (inboxFull ? ", inbox full" : ""), FRAMES, consumed1, consumed2, both, failedCount, lost,
                dup1 + dup2, restartedAfter, done.get("millis"));
        assertEquals(0, h1.getLong(8) + h2.getLong(8), "frames with a bad checksum");
        assertEquals(0, h1.getLong(16) + h2.getLong(16), "frames out of order within an incarnation");
        assertEquals(0, lost, "frames silently lost");
        assertEquals(0, dup1 + dup2, "frames consumed twice by one incarnation");
        assertEquals(0, failedButConsumed, "frames both failed and consumed (the window did not end here)");
        assertEquals(failedCount, done.number("failed"), "the sender's count of failures: " + done);
        assertEquals(FRAMES - failedCount, done.number("acknowledged"), "every other frame was acknowledged: " + done);
    }

    private static Concurrency receiver(Stage stage, Path account, long stallAfter, boolean smallInbox) {
        TransportConfig.Builder config = stage.config().toBuilder();
        if (smallInbox) {
            config.inboxCapacity(4_096, 1024 * 1024);
        }
        return stage.process(AckTasks.Receiver.class).name("receiver").transportConfig(config.build()).fileName("r.sock")
                .jvmOptions(JVM)
                .arguments(account.toString(), Integer.toString(FRAMES), Long.toString(stallAfter)).start();
    }
}
