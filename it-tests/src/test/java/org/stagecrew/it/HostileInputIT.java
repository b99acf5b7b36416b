package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;

/**
 * An endpoint in a child JVM takes a good peer's stream of checksummed, sequenced 256-byte frames
 * (another child) while raw JDK clients in this JVM attack the same socket file: garbage, oversize
 * lengths, silent and slow hellos, truncated frames with half-close and close, malformed hellos, a
 * burst of 1,000 connection attempts, and then more connections than the cap. Every bad client
 * must read the notice PROTOCOL.md prescribes and be disconnected; the good stream must lose
 * nothing and take at most {@value #MARGIN} times as long as the same stream without the attack;
 * the endpoint must count and log what it refused, let no exception reach the end of a pipeline,
 * and leak no buffer (its log is checked here and by the stage).
 *
 * <p>The slowdown is measured in one run: the same number of frames, timed by the endpoint from the
 * first to the last frame of each phase, first quiet (after a warm-up phase), then under attack.
 * Margin {@value #MARGIN}: the attackers run flat out (about 4,000 connections a second, each
 * refused, counted and logged by the endpoint) and share the endpoint's single event loop and the
 * machine's two cores with the stream, and other builds may run alongside; on the 2-core machine
 * the attacked phase took 1.4 to 2.5 times as long as the quiet one over eight runs.
 */
@StagecrewTest
class HostileInputIT {
    static final int CAP = 100;
    static final int MAX_FRAME = 64 * 1024;
    static final Duration HELLO_TIMEOUT = Duration.ofMillis(500);
    static final int WARMUP_FRAMES = 50_000;
    static final int FRAMES = 200_000;
    static final int AT_CAP_FRAMES = 10_000;
    static final int OVER_CAP = 5;
    static final double MARGIN = 4.0;
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String[] JVM = {"-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};
    static final List<String> ESCAPED = List.of("reached at the tail of the pipeline", "A task raised an exception");

    final Reports.Pending pending = new Reports.Pending(WAIT);

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void badClientsAreAnsweredAndCutOffWhileTheGoodStreamLosesNothingAndKeepsItsPace(Stage stage) throws Exception {
        Transport me = stage.transport();
        Concurrency endpoint = stage.process(HostileTasks.Endpoint.class).name("endpoint").fileName("endpoint.sock").jvmOptions(JVM)
                .peers(stage.address("sender.sock"))
                .arguments("target.sock", Integer.toString(CAP), Integer.toString(MAX_FRAME), Long.toString(HELLO_TIMEOUT.toMillis()))
                .start();
        Path target = Path.of(await(me, "READY", endpoint.address()).get("target"));
        Concurrency sender = stage.process(HostileTasks.Sender.class).name("sender").fileName("sender.sock").jvmOptions(JVM)
                .peers(Address.of(target)).start();

        phase(me, endpoint, sender, WARMUP_FRAMES, () -> { });
        long quietMicros = phase(me, endpoint, sender, FRAMES, () -> { }).number("micros");

        OutcomeTable table = new OutcomeTable();
        HostileClients hostile = new HostileClients(target, MAX_FRAME, HELLO_TIMEOUT, table);
        hostile.start();
        Reports.Report underAttack;
        boolean joined = false;
        try {
            assertTrue(hostile.awaitActive(WAIT), "every hostile client got going within " + WAIT);
            underAttack = phase(me, endpoint, sender, FRAMES, hostile::startBurst);
        } finally {
            joined = hostile.join(WAIT);
        }
        assertTrue(joined, "the hostile clients finished within " + WAIT);
        long hostileMicros = underAttack.number("micros");
        long hostileTries = table.tries("");
        Map<String, long[]> windows = hostile.windows();

        CapCheck cap = overTheCap(me, endpoint, sender, target, table);

        Reports.send(me, endpoint.address(), "STATS");
        Reports.Report stats = await(me, "STATS", endpoint.address());
        Reports.send(me, endpoint.address(), "END");
        Reports.send(me, sender.address(), "END");
        assertTrue(endpoint.join(WAIT) && sender.join(WAIT), "both units ended within " + WAIT);
        List<String> log = Files.readAllLines(endpoint.logFile().orElseThrow());

        System.out.printf("[HostileInputIT] bad inputs tried against %s (maxConnections %d, maxFrameLength %d, helloTimeout %d ms)"
                + " while a good peer streamed %,d checked frames of 256 B:%n%s", target, CAP, MAX_FRAME, HELLO_TIMEOUT.toMillis(),
                FRAMES, table.render());
        double slowdown = (double) hostileMicros / quietMicros;
        System.out.printf("[HostileInputIT] good stream, %,d frames of 256 B: %,d ms quiet (%,.0f frames/s), %,d ms under attack"
                        + " (%,.0f frames/s): %.2fx as long (margin %.1fx); %,d hostile connections during it, %,d after%n",
                FRAMES, quietMicros / 1000, FRAMES * 1e6 / quietMicros, hostileMicros / 1000, FRAMES * 1e6 / hostileMicros,
                slowdown, MARGIN, hostileTries, table.tries("") - hostileTries);
        System.out.printf("[HostileInputIT] endpoint stats: accepted=%d rejected=%d protocolErrors=%d (caused: rejections >= %d,"
                        + " protocol errors >= %d); log: %d rejection lines, %d protocol-error lines, %d closed-inside-a-frame lines%n",
                stats.number("accepted"), stats.number("rejected"), stats.number("protocolErrors"),
                hostile.rejectionsCaused() + cap.refusals, hostile.protocolErrorsCaused(),
                count(log, "rejected connection to"), count(log, "exceeds maxFrameLength"), count(log, "closed inside a frame"));

        long phaseStart = underAttack.number("firstAt"), phaseEnd = underAttack.number("lastAt");
        windows.forEach((client, w) -> System.out.printf("[HostileInputIT] %-18s active from %+,6d ms to %+,6d ms of the attacked"
                + " phase (0 .. %,d ms)%n", client, (w[0] - phaseStart) / 1_000_000, (w[1] - phaseStart) / 1_000_000,
                (phaseEnd - phaseStart) / 1_000_000));

        assertEquals(List.of(), hostile.problems(), "every hostile client read the notice PROTOCOL.md prescribes and was disconnected");
        windows.forEach((client, w) -> {
            if (!client.startsWith("(e)")) { // the burst is done when it is done; the others run until the phase ends
                assertTrue(w[0] < phaseEnd && w[1] > phaseStart, client + " was active while the good stream ran");
            }
        });
        long good = WARMUP_FRAMES + 2L * FRAMES + AT_CAP_FRAMES;
        assertEquals(0, stats.number("errors"), () -> "the good stream arrived intact: " + stats);
        assertEquals(good, stats.number("inOrder"), () -> "every good frame arrived, in order: " + stats);
        assertEquals(hostile.wholeFramesSent(), stats.number("foreign"), () -> "each whole frame before bad bytes was delivered: " + stats);
        assertEquals(0, stats.number("foreignWrong"), () -> "the hostile clients' whole frames arrived intact: " + stats);
        assertEquals(CAP - 1, cap.accepted, "connections accepted before the cap (the good peer holds one)");
        assertTrue(stats.number("rejected") >= hostile.rejectionsCaused() + cap.refusals,
                () -> "the endpoint counted every rejection we caused: " + stats);
        assertTrue(stats.number("protocolErrors") >= hostile.protocolErrorsCaused(),
                () -> "the endpoint counted every protocol error we caused: " + stats);
        assertTrue(count(log, "rejected connection to") >= hostile.rejectionsCaused() + cap.refusals, "each rejection is logged");
        assertTrue(count(log, "exceeds maxFrameLength") >= hostile.protocolErrorsCaused(), "each protocol error is logged");
        assertTrue(count(log, "closed inside a frame") >= hostile.truncationsCaused(), "each truncated frame is logged");
        for (String marker : ESCAPED) {
            assertEquals(List.of(), log.stream().filter(l -> l.contains(marker)).limit(5).toList(),
                    "no exception reached the event loop unhandled");
        }
        assertTrue(slowdown <= MARGIN, () -> String.format("the good stream took %.2fx as long under attack (%,d ms vs %,d ms quiet),"
                + " more than the margin of %.1fx", slowdown, hostileMicros / 1000, quietMicros / 1000, MARGIN));
    }

    /** What {@link #overTheCap} saw. */
    record CapCheck(int accepted, int refusals) {
    }

    /**
     * (f) Fills the endpoint up to its cap with accepted connections, checks that the next ones are
     * refused with TOO_MANY_CONNECTIONS while the good stream goes on, and that a connection is
     * accepted again once one below the cap closed.
     */
    CapCheck overTheCap(Transport me, Concurrency endpoint, Concurrency sender, Path target, OutcomeTable table) throws IOException {
        List<RawClient> holders = new ArrayList<>();
        int refusals = 0;
        Duration bound = HostileClients.DISCONNECT_BOUND;
        String input = "(f) connection beyond maxConnections " + CAP + ": valid hello";
        try {
            while (holders.size() <= CAP) {
                RawClient c = RawClient.connect(target);
                c.write(RawClient.hello("/hostile/holder-" + holders.size()));
                RawClient.Answer a = c.readNotice(bound);
                if (a.codes().equals(List.of(RawClient.ACCEPTED))) {
                    holders.add(c);
                    continue;
                }
                try (c) {
                    RawClient.Answer refused = RawClient.Answer.joined(a, c.readToEnd(bound));
                    table.record(input, refused);
                    refusals++;
                    assertEquals(List.of(RawClient.TOO_MANY_CONNECTIONS), refused.codes(), () -> input + ": " + refused.describe());
                    assertTrue(refused.eof(), () -> input + ": disconnected: " + refused.describe());
                }
                break;
            }
            int accepted = holders.size();
            for (int i = 1; i < OVER_CAP; i++) {
                try (RawClient c = RawClient.connect(target)) {
                    c.write(RawClient.hello("/hostile/over-cap-" + i));
                    RawClient.Answer a = c.readToEnd(bound);
                    table.record(input, a);
                    refusals++;
                    assertEquals(List.of(RawClient.TOO_MANY_CONNECTIONS), a.codes(), () -> input + ": " + a.describe());
                    assertTrue(a.eof(), () -> input + ": disconnected: " + a.describe());
                    assertTrue(a.notices().get(0).reason().contains("maximum of " + CAP), () -> input + ": " + a.describe());
                }
            }
            phase(me, endpoint, sender, AT_CAP_FRAMES, () -> { }); // the established good stream is not affected by the full cap

            holders.remove(0).close();
            long deadline = System.nanoTime() + bound.toNanos();
            while (true) { // the endpoint notices the close asynchronously; until then it still refuses
                try (RawClient c = RawClient.connect(target)) {
                    c.write(RawClient.hello("/hostile/after-cap"));
                    RawClient.Answer a = c.readNotice(bound);
                    if (a.codes().equals(List.of(RawClient.ACCEPTED)) || System.nanoTime() - deadline > 0) {
                        table.record("(f) control: valid hello after one connection under the cap closed", a);
                        assertEquals(List.of(RawClient.ACCEPTED), a.codes(), () -> "accepted again below the cap: " + a.describe());
                        break;
                    }
                    refusals++;
                }
            }
            return new CapCheck(accepted, refusals);
        } finally {
            holders.forEach(RawClient::close);
        }
    }

    /**
     * Has the sender send {@code frames} more, runs {@code afterSend}, and returns the endpoint's
     * {@code PHASE} report: the time from their first to their last frame ({@code micros}), and when.
     */
    Reports.Report phase(Transport me, Concurrency endpoint, Concurrency sender, int frames, Runnable afterSend) {
        Reports.send(me, endpoint.address(), "EXPECT " + frames);
        await(me, "EXPECTING", endpoint.address());
        Reports.send(me, sender.address(), "SEND " + frames);
        afterSend.run();
        Reports.Report done = await(me, "PHASE", endpoint.address());
        Reports.Report sent = await(me, "SENT", sender.address());
        assertEquals(0, done.number("errors"), () -> "the good stream arrived intact: " + done);
        assertEquals("true", sent.get("flushed"), () -> "the sender flushed: " + sent);
        return done;
    }

    Reports.Report await(Transport me, String kind, Address from) {
        return pending.await(me, kind, from);
    }

    static long count(List<String> log, String fragment) {
        return log.stream().filter(l -> l.contains(fragment)).count();
    }
}
