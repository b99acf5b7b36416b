package org.stagecrew.it;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportStats;

/** The units of {@link HostileInputIT}: the endpoint under attack and the good peer that streams to it. */
public final class HostileTasks {
    static final CheckedFrames LAYOUT = new CheckedFrames(256, 256);
    /** The one whole frame a hostile client sends before its bad bytes; the endpoint counts how many arrive intact. */
    static final byte[] WHOLE = "whole frame before the bad bytes".getBytes(StandardCharsets.US_ASCII);
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(60);

    private HostileTasks() {
    }

    /**
     * Opens the endpoint under attack, a second transport bound to {@code arguments[0]} (a file name in
     * the unit's socket directory) with {@code maxConnections = arguments[1]}, {@code maxFrameLength
     * = arguments[2]} and {@code helloTimeout = arguments[3]} ms (options a unit's own transport does
     * not take from its parent), and reports {@code READY}. Checks every frame from the good peer
     * {@code peers[0]} (sender index 0) and counts the frames of everyone else, which must all be
     * {@link #WHOLE}. Commands from the parent: {@code EXPECT <n>} (answered {@code EXPECTING}, then
     * {@code PHASE} with the time from the first to the last of the next {@code n} good frames, and both
     * {@code System.nanoTime()} values),
     * {@code STATS} (answered {@code STATS} with the endpoint's {@link TransportStats} and what the
     * checker saw) and {@code END}.
     */
    public static final class Endpoint implements Task {
        private CheckedFrames.Checker checker;
        private Address good;
        private long foreign;
        private long foreignWrong;
        private long phaseEnd = -1;
        private long phaseBase;
        private long firstAt;
        private long lastAt;
        private String command;

        @Override
        public void run(TaskContext ctx) {
            good = ctx.peers().get(0);
            checker = new CheckedFrames.Checker(LAYOUT, Map.of(good, 0), 1);
            Transport control = ctx.transport();
            var config = control.config().toBuilder().fileName(ctx.arguments().get(0))
                    .maxConnections(Integer.parseInt(ctx.arguments().get(1)))
                    .maxFrameLength(Integer.parseInt(ctx.arguments().get(2)))
                    .helloTimeout(Duration.ofMillis(Long.parseLong(ctx.arguments().get(3))))
                    .build();
            try (Transport target = Transport.open(config)) {
                ctx.logger().info("endpoint under attack at {}: {}", target.address(), target.config());
                Reports.send(control, ctx.parent(), "READY target=" + target.address().path());
                while (!ctx.isStopRequested()) {
                    target.poll(this::onFrame, 4096, Duration.ofMillis(10));
                    if (phaseEnd >= 0 && checker.frames() >= phaseEnd) {
                        Reports.send(control, ctx.parent(), "PHASE frames=" + (phaseEnd - phaseBase) + " ms="
                                + TimeUnit.NANOSECONDS.toMillis(lastAt - firstAt) + " micros="
                                + TimeUnit.NANOSECONDS.toMicros(lastAt - firstAt) + " firstAt=" + firstAt + " lastAt=" + lastAt
                                + " errors=" + checker.errors());
                        phaseEnd = -1;
                    }
                    control.poll(frame -> command = Reports.text(frame), 1);
                    if (command == null) {
                        continue;
                    }
                    String c = command;
                    command = null;
                    if (c.startsWith("EXPECT ")) {
                        phaseBase = checker.frames();
                        phaseEnd = phaseBase + Long.parseLong(c.substring("EXPECT ".length()));
                        Reports.send(control, ctx.parent(), "EXPECTING");
                    } else if (c.equals("STATS")) {
                        TransportStats s = target.stats();
                        Reports.send(control, ctx.parent(), "STATS accepted=" + s.connectionsAccepted() + " rejected="
                                + s.connectionsRejected() + " protocolErrors=" + s.protocolErrors() + " foreign=" + foreign
                                + " foreignWrong=" + foreignWrong + " inOrder=" + checker.inOrder(0) + " " + checker.summary());
                    } else if (c.equals("END")) {
                        return;
                    }
                }
            }
        }

        private void onFrame(Frame frame) {
            if (!frame.sender().equals(good)) {
                foreign++;
                byte[] bytes = new byte[frame.payload().readableBytes()];
                frame.payload().getBytes(frame.payload().readerIndex(), bytes);
                if (!Arrays.equals(bytes, WHOLE)) {
                    foreignWrong++;
                }
                return;
            }
            long now = System.nanoTime();
            if (checker.frames() == phaseBase) {
                firstAt = now;
            }
            checker.onFrame(frame);
            lastAt = now;
        }
    }

    /**
     * The good peer: on each {@code SEND <n>} from its parent, sends the next {@code n} checked frames
     * of 256 bytes (sender index 0) to {@code peers[0]} with the blocking send, flushes, and reports
     * {@code SENT}. Ends on {@code END}.
     */
    public static final class Sender implements Task {
        @Override
        public void run(TaskContext ctx) {
            Transport transport = ctx.transport();
            Address target = ctx.peers().get(0);
            CheckedFrames encoder = new CheckedFrames(256, 256);
            long seq = 0;
            while (!ctx.isStopRequested()) {
                try (Frame command = transport.receive(Duration.ofMillis(500))) {
                    if (command == null) {
                        continue;
                    }
                    String text = Reports.text(command);
                    if (text.equals("END")) {
                        return;
                    }
                    long frames = Long.parseLong(text.substring("SEND ".length()));
                    long start = System.nanoTime();
                    for (long end = seq + frames; seq < end; seq++) {
                        transport.send(target, encoder.encode(0, seq), SEND_TIMEOUT);
                    }
                    boolean flushed = transport.flush(SEND_TIMEOUT);
                    Reports.send(transport, ctx.parent(), "SENT frames=" + frames + " ms="
                            + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " flushed=" + flushed);
                }
            }
        }
    }
}
