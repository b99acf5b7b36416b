package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;

/**
 * Two sender processes stream to a destination process that closes under them. Every frame is
 * accounted for, per sender: sends that succeeded = frames the destination consumed + frames it
 * counted as discarded ({@code stats().discardedFrames()}). Run with the destination reading, with
 * it not reading (its inbox full and its socket buffers full), and with {@code closeGracefully},
 * which discards nothing.
 */
@StagecrewTest
class CloseDuringTrafficIT {
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String[] JVM = {"-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};
    static final int SENDERS = 2;

    final Reports.Pending pending = new Reports.Pending(WAIT);

    private void closeUnderTraffic(Stage stage, String reading, String how) {
        Transport me = stage.transport();
        Address dest = stage.address("dest.sock");
        Address[] senders = new Address[SENDERS];
        for (int i = 0; i < SENDERS; i++) {
            senders[i] = stage.address("s" + i + ".sock");
        }
        // Small bounds, so that the destination's inbox and the senders' queues fill fast and fit the units' small heaps.
        Concurrency destination = stage.process(CloseTasks.Destination.class).name("dest")
                .transportConfig(stage.config().toBuilder().inboxCapacity(4096, 4 * 1024 * 1024).build())
                .fileName("dest.sock").jvmOptions(JVM).peers(senders).arguments(reading, how).start();
        for (int i = 0; i < SENDERS; i++) {
            stage.process(CloseTasks.Sender.class).name("s" + i)
                    .transportConfig(stage.config().toBuilder().writeBufferWaterMark(64 * 1024, 128 * 1024).build())
                    .fileName("s" + i + ".sock").jvmOptions(JVM).peers(dest).start();
        }
        for (Address s : senders) {
            Reports.send(me, s, "GO");
        }
        if (reading.equals("reading")) {
            pending.await(me, "PROGRESS", dest);
        } else {
            for (Address s : senders) {
                pending.await(me, "PRESSED", s); // the destination's socket and inbox are full
            }
        }

        assertTrue(destination.stop(WAIT), "the destination closed and ended");
        Reports.Report closed = pending.await(me, "CLOSED", stage.address(CloseTasks.REPORT_FILE));
        StringBuilder figures = new StringBuilder("[CloseDuringTrafficIT] destination " + reading + ", " + how + ":");
        long uncounted = 0;
        long discarded = 0;
        for (int i = 0; i < SENDERS; i++) {
            Reports.send(me, senders[i], "END");
            Reports.Report sent = pending.await(me, "SENT", senders[i]);
            long succeeded = sent.number("succeeded");
            long consumed = closed.number("consumed" + i);
            long thrownAway = closed.number("discarded" + i);
            figures.append(String.format(" [s%d: %d succeeded = %d consumed + %d discarded; %d failed]",
                    i, succeeded, consumed, thrownAway, sent.number("failed")));
            uncounted += succeeded - consumed - thrownAway;
            discarded += thrownAway;
        }
        System.out.println(figures + " uncounted: " + uncounted);
        assertEquals(0, uncounted, "every frame whose send succeeded was consumed or counted as discarded: " + figures);
        if (how.equals("graceful")) {
            assertEquals(0, discarded, "an orderly shutdown discards nothing: " + figures);
        } else if (reading.equals("idle")) {
            assertTrue(discarded > 0, "a destination that did not read threw frames away and counted them: " + figures);
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDestinationClosingWhileReadingCountsEveryFrameItThrowsAwayPerSender(Stage stage) {
        closeUnderTraffic(stage, "reading", "close");
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDestinationClosingWithAFullInboxCountsEveryFrameItThrowsAwayPerSender(Stage stage) {
        closeUnderTraffic(stage, "idle", "close");
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aDestinationClosingGracefullyLosesNothing(Stage stage) {
        closeUnderTraffic(stage, "reading", "graceful");
    }
}
