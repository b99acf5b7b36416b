package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;

/** The units of {@link CloseDuringTrafficIT}: streaming senders and a destination that closes under them. */
public final class CloseTasks {
    static final int FRAME = 64;
    static final long PRESSED_WAIT_MILLIS = 50;
    static final Duration WAIT = Duration.ofSeconds(30);
    static final int PROGRESS_FRAMES = 20_000;
    /** File name of the transport the destination reports through once its own is closed. */
    static final String REPORT_FILE = "dest-report.sock";

    private CloseTasks() {
    }

    /**
     * Streams {@value #FRAME}-byte frames to {@code peers[0]} with the future-returning send from the
     * parent's {@code GO} on, as fast as back-pressure lets it; reports {@code PRESSED} at the first
     * back-pressured send (a send refused at once counts as failed). On {@code END} it stops, waits for every unfinished send and reports
     * {@code SENT succeeded=<n> failed=<n>}: a send counts as succeeded when its future completed normally.
     */
    public static final class Sender implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            Transport transport = ctx.transport();
            Address target = ctx.peers().get(0);
            AtomicReference<String> command = new AtomicReference<>();
            while (!"GO".equals(command.get())) {
                try (Frame frame = transport.receive(WAIT)) {
                    if (frame == null) {
                        throw new IllegalStateException("no GO within " + WAIT);
                    }
                    command.set(Reports.text(frame));
                }
            }
            command.set(null);
            ArrayDeque<CompletableFuture<Void>> unfinished = new ArrayDeque<>();
            long[] counts = new long[2]; // succeeded, failed
            boolean pressed = false;
            long seq = 0;
            while (command.get() == null) {
                transport.poll(frame -> command.compareAndSet(null, Reports.text(frame)), 4);
                ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(FRAME).writeLong(seq++).writeZero(FRAME - 8);
                CompletableFuture<Void> sent = transport.send(target, payload);
                if (sent.isCompletedExceptionally()) {
                    counts[1]++; // refused at once: not sent
                    if (cause(sent) instanceof BackPressureException) {
                        if (!pressed) {
                            pressed = true;
                            Reports.send(transport, ctx.parent(), "PRESSED");
                        }
                        awaitQuietly(unfinished.peekFirst()); // rather than spin while the destination is full
                    }
                } else {
                    unfinished.addLast(sent);
                }
                while (!unfinished.isEmpty() && unfinished.peekFirst().isDone()) {
                    settle(unfinished.pollFirst(), counts);
                }
            }
            while (!unfinished.isEmpty()) {
                settle(unfinished.pollFirst(), counts);
            }
            Reports.send(transport, ctx.parent(), "SENT succeeded=" + counts[0] + " failed=" + counts[1]);
        }

        /** Waits up to {@value #PRESSED_WAIT_MILLIS} ms for {@code f} (if any) to finish, whatever its outcome. */
        private static void awaitQuietly(CompletableFuture<Void> f) {
            if (f == null) {
                return;
            }
            try {
                f.get(PRESSED_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // settled (or not) later
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static Throwable cause(CompletableFuture<Void> f) {
            try {
                f.getNow(null);
                return null;
            } catch (java.util.concurrent.CompletionException e) {
                return e.getCause();
            }
        }

        private static void settle(CompletableFuture<Void> f, long[] counts) {
            try {
                f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                counts[0]++;
            } catch (ExecutionException e) {
                counts[1]++;
            } catch (TimeoutException | InterruptedException e) {
                throw new IllegalStateException("a send did not finish within " + WAIT, e);
            }
        }
    }

    /**
     * The destination: with {@code arguments[0]} = {@code reading} it consumes frames, counting them
     * per sender ({@code peers}), and reports {@code PROGRESS} after {@value #PROGRESS_FRAMES};
     * with {@code idle} it reads nothing. When asked to stop it closes its transport ({@code close()},
     * or {@code closeGracefully} with {@code arguments[1]} = {@code graceful}, going on consuming
     * meanwhile) and reports {@code CLOSED consumed<i>=<n> discarded<i>=<n>} per sender through a new
     * transport at {@value #REPORT_FILE}.
     */
    public static final class Destination implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            boolean reading = ctx.arguments().get(0).equals("reading");
            boolean graceful = ctx.arguments().size() > 1 && ctx.arguments().get(1).equals("graceful");
            Transport transport = ctx.transport();
            List<Address> senders = ctx.peers();
            long[] consumed = new long[senders.size()];
            boolean progressReported = false;
            while (!ctx.isStopRequested()) {
                if (!reading) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // a stop request interrupts the park
                    continue;
                }
                try {
                    transport.poll(frame -> count(senders, consumed, frame.sender()), 1024, Duration.ofMillis(100));
                } catch (TransportException interrupted) {
                    break; // the stop request interrupted the wait
                }
                if (!progressReported && total(consumed) >= PROGRESS_FRAMES) {
                    progressReported = true;
                    Reports.send(transport, ctx.parent(), "PROGRESS frames=" + total(consumed));
                }
            }
            Thread.interrupted();
            if (graceful) {
                CompletableFuture<Void> drainer = CompletableFuture.runAsync(() -> {
                    try {
                        while (true) {
                            transport.poll(frame -> count(senders, consumed, frame.sender()), 1024, Duration.ofMillis(100));
                        }
                    } catch (TransportException closed) {
                        // closeGracefully has closed the transport: the inbox is drained
                    }
                });
                transport.closeGracefully(WAIT);
                drainer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            } else {
                transport.close();
            }
            TransportStats stats = transport.stats();
            StringBuilder report = new StringBuilder("CLOSED");
            for (int i = 0; i < senders.size(); i++) {
                report.append(" consumed").append(i).append('=').append(consumed[i])
                        .append(" discarded").append(i).append('=').append(stats.discardedFrames().getOrDefault(senders.get(i), 0L));
            }
            try (Transport reporter = Transport.open(transport.config().toBuilder().fileName(REPORT_FILE).build())) {
                Reports.send(reporter, ctx.parent(), report.toString());
            }
        }

        private static void count(List<Address> senders, long[] consumed, Address sender) {
            int i = senders.indexOf(sender);
            if (i >= 0) {
                consumed[i]++;
            }
        }

        private static long total(long[] counts) {
            long sum = 0;
            for (long c : counts) {
                sum += c;
            }
            return sum;
        }
    }
}
