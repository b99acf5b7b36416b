package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;

/** The units of {@link CrashIT}: a sender that notices its receiver's death, and a checking receiver. */
public final class CrashTasks {
    static final CheckedFrames LAYOUT = new CheckedFrames(64, 256);
    static final int WINDOW = 256;
    static final Duration WAIT = Duration.ofSeconds(30);
    static final int PROGRESS_FRAMES = 2_000;

    private CrashTasks() {
    }

    /**
     * Sends checked frames (sender index {@code arguments[0]}) to {@code peers[0]} with the
     * future-returning send, at most {@value #WINDOW} unfinished at a time, from the parent's
     * {@code GO} on. When a send fails it stops, waits for every unfinished send, tries three more,
     * and reports {@code DEAD} with the failure types and the {@code System.nanoTime()} of the first
     * failure. On {@code RESUME} it starts again at sequence 0. On {@code END} it stops, tells the
     * receiver how many frames it sent since its last start ({@code END <n>}) and reports
     * {@code DONE}.
     */
    public static final class Sender implements Task {
        private final AtomicReference<String> command = new AtomicReference<>();

        @Override
        public void run(TaskContext ctx) throws Exception {
            int index = Integer.parseInt(ctx.arguments().get(0));
            Address target = ctx.peers().get(0);
            Transport transport = ctx.transport();
            awaitCommand(transport, "GO");
            command.set(null);
            CheckedFrames encoder = new CheckedFrames(64, 256);
            while (true) {
                AtomicReference<Throwable> firstFailure = new AtomicReference<>();
                long[] failedAt = new long[1];
                ArrayDeque<CompletableFuture<Void>> unfinished = new ArrayDeque<>();
                long seq = 0;
                long failures = 0;
                while (firstFailure.get() == null && command.get() == null) {
                    transport.poll(frame -> command.compareAndSet(null, Reports.text(frame)), 4);
                    ByteBuf payload = encoder.encode(index, seq++);
                    CompletableFuture<Void> sent = transport.send(target, payload);
                    sent.whenComplete((ok, e) -> {
                        if (e != null && firstFailure.compareAndSet(null, e)) {
                            failedAt[0] = System.nanoTime();
                        }
                    });
                    unfinished.addLast(sent);
                    while (unfinished.size() >= WINDOW || (!unfinished.isEmpty() && unfinished.peekFirst().isDone())) {
                        failures += settle(unfinished.pollFirst()) == null ? 0 : 1;
                    }
                }
                if (firstFailure.get() != null) {
                    reportDeath(ctx, transport, target, encoder, index, unfinished, seq, firstFailure.get(), failedAt[0]);
                    awaitCommand(transport, "RESUME");
                    command.set(null);
                    continue;
                }
                while (!unfinished.isEmpty()) {
                    failures += settle(unfinished.pollFirst()) == null ? 0 : 1;
                }
                String done = command.getAndSet(null);
                Reports.send(transport, target, "END " + seq);
                Reports.send(transport, ctx.parent(), (done.equals("END") ? "DONE" : "STOPPED") + " index=" + index
                        + " sent=" + seq + " failures=" + failures);
                if (done.equals("END")) {
                    return;
                }
            }
        }

        private void reportDeath(TaskContext ctx, Transport transport, Address target, CheckedFrames encoder, int index,
                ArrayDeque<CompletableFuture<Void>> unfinished, long sent, Throwable first, long failedAt) {
            Map<String, Integer> pendingTypes = new TreeMap<>();
            int pendingOk = 0;
            int stillPending = 0;
            long settleStart = System.nanoTime();
            for (CompletableFuture<Void> f : unfinished) {
                try {
                    f.get(Math.max(1, WAIT.toNanos() - (System.nanoTime() - settleStart)), TimeUnit.NANOSECONDS);
                    pendingOk++;
                } catch (ExecutionException e) {
                    pendingTypes.merge(e.getCause().getClass().getSimpleName(), 1, Integer::sum);
                } catch (TimeoutException | InterruptedException e) {
                    stillPending++;
                }
            }
            long allSettledAt = System.nanoTime();
            StringBuilder later = new StringBuilder();
            long laterMaxMillis = 0;
            for (int i = 0; i < 3; i++) {
                long start = System.nanoTime();
                String outcome;
                try {
                    transport.send(target, encoder.encode(index, sent + i)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    outcome = "delivered";
                } catch (ExecutionException e) {
                    outcome = e.getCause().getClass().getSimpleName();
                } catch (TimeoutException | InterruptedException e) {
                    outcome = "hung";
                }
                laterMaxMillis = Math.max(laterMaxMillis, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                later.append(i == 0 ? "" : ",").append(outcome);
            }
            StringBuilder types = new StringBuilder();
            pendingTypes.forEach((type, n) -> types.append(types.length() == 0 ? "" : ",").append(type).append(':').append(n));
            Reports.send(transport, ctx.parent(), "DEAD index=" + index + " failedAt=" + failedAt + " settledAt=" + allSettledAt
                    + " sentBeforeDeath=" + sent + " firstType=" + first.getClass().getSimpleName()
                    + " firstMessage=" + String.valueOf(first.getMessage()).replace(' ', '_')
                    + " unfinished=" + unfinished.size() + " pendingOk=" + pendingOk + " pendingTypes=" + types
                    + " stillPending=" + stillPending + " later=" + later + " laterMaxMs=" + laterMaxMillis);
        }

        /** Waits for a future, returning its failure or null. */
        private static Throwable settle(CompletableFuture<Void> f) {
            try {
                f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                return null;
            } catch (ExecutionException e) {
                return e.getCause();
            } catch (TimeoutException | InterruptedException e) {
                throw new IllegalStateException("a send did not finish within " + WAIT, e);
            }
        }

        private void awaitCommand(Transport transport, String expected) {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!expected.equals(command.get())) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("no " + expected + " within 120 s, last command " + command.get());
                }
                try (Frame frame = transport.receive(Duration.ofMillis(200))) {
                    if (frame != null) {
                        command.set(Reports.text(frame));
                    }
                }
            }
        }
    }

    /**
     * Checks the frames of the sender at {@code peers[0]} (sender index {@code arguments[0]}), reports
     * {@code PROGRESS} to its parent after {@value #PROGRESS_FRAMES} frames, and on the sender's
     * {@code END <n>} reports {@code RECEIVED} with what it saw. Runs until stopped.
     */
    public static final class Receiver implements Task {
        @Override
        public void run(TaskContext ctx) {
            int index = Integer.parseInt(ctx.arguments().get(0));
            Address sender = ctx.peers().get(0);
            CheckedFrames.Checker checker = new CheckedFrames.Checker(LAYOUT, Map.of(sender, index), index + 1);
            Transport transport = ctx.transport();
            boolean[] progressReported = new boolean[1];
            while (!ctx.isStopRequested()) {
                transport.poll(frame -> {
                    if (frame.sender().equals(sender) && frame.payload().readableBytes() < CheckedFrames.HEADER) {
                        String end = Reports.text(frame);
                        Reports.send(transport, ctx.parent(), "RECEIVED index=" + index + " announced="
                                + end.substring(end.indexOf(' ') + 1) + " inOrder=" + checker.inOrder(index) + " " + checker.summary());
                    } else {
                        checker.onFrame(frame);
                        if (!progressReported[0] && checker.frames() >= PROGRESS_FRAMES) {
                            progressReported[0] = true;
                            Reports.send(transport, ctx.parent(), "PROGRESS index=" + index + " frames=" + checker.frames());
                        }
                    }
                }, 1024, Duration.ofMillis(200));
            }
        }
    }
}
