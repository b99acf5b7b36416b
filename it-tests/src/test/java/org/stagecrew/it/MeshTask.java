package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.Transport;

/**
 * One unit of a mesh: {@code peers} are the addresses of every unit in index order (its own among
 * them), {@code arguments} are its index, the number of frames to send to each other unit, and the
 * minimum and maximum frame length. A receiving thread checks every frame from the others with a
 * {@link CheckedFrames.Checker}. Once its parent says {@code GO}, the main thread sends frame 0 to
 * every other unit and waits until each was written (so every connection is established), reports
 * {@code CONNECTED}; once its parent says {@code BULK} (every unit is connected), it sends frame 1 to
 * every other unit, then frame 2, and so on, with the blocking send. When everything was sent and
 * everything expected has arrived (or a deadline passed) it sends its parent a {@code MESH} report.
 *
 * <p>The two phases keep connection set-up apart from bulk traffic: while a unit's event loop
 * drains a busy outbound queue it may not answer new connections' hellos in time (see the issue
 * note of the it-tests module).
 */
public final class MeshTask implements Task {
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
    static final Duration DEADLINE = Duration.ofSeconds(150);

    @Override
    public void run(TaskContext ctx) throws Exception {
        int index = Integer.parseInt(ctx.arguments().get(0));
        int frames = Integer.parseInt(ctx.arguments().get(1));
        int minLength = Integer.parseInt(ctx.arguments().get(2));
        int maxLength = Integer.parseInt(ctx.arguments().get(3));
        List<Address> all = ctx.peers();
        Map<Address, Integer> others = new HashMap<>();
        for (int i = 0; i < all.size(); i++) {
            if (i != index) {
                others.put(all.get(i), i);
            }
        }
        Transport transport = ctx.transport();
        CheckedFrames.Checker checker = new CheckedFrames.Checker(new CheckedFrames(minLength, maxLength), others, all.size());
        long expected = (long) frames * others.size();
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch bulk = new CountDownLatch(1);
        long[] receiveEnd = new long[1];
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        FrameHandler handler = frame -> {
            if (frame.sender().equals(ctx.parent())) {
                String command = Reports.text(frame);
                if ("GO".equals(command)) {
                    go.countDown();
                } else if ("BULK".equals(command)) {
                    bulk.countDown();
                }
            } else {
                checker.onFrame(frame);
            }
        };
        Thread receiver = new Thread(() -> {
            while (checker.frames() < expected && !ctx.isStopRequested() && System.nanoTime() - deadline < 0) {
                transport.poll(handler, 1024, Duration.ofMillis(100));
            }
            receiveEnd[0] = System.nanoTime();
        }, ctx.name() + "-receiver");
        receiver.start();

        if (!go.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            throw new IllegalStateException("no GO from " + ctx.parent() + " within " + DEADLINE);
        }
        long start = System.nanoTime();
        CheckedFrames encoder = new CheckedFrames(minLength, maxLength);
        long sentBytes = 0;
        long sent = 0;
        List<CompletableFuture<Void>> connecting = new ArrayList<>();
        for (int peer = 0; peer < all.size(); peer++) {
            if (peer != index && frames > 0) {
                ByteBuf payload = encoder.encode(index, 0);
                sentBytes += payload.readableBytes();
                connecting.add(transport.send(all.get(peer), payload));
                sent++;
            }
        }
        CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(SEND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        Reports.send(transport, ctx.parent(), "CONNECTED index=" + index);
        if (!bulk.await(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            throw new IllegalStateException("no BULK from " + ctx.parent() + " within " + DEADLINE);
        }
        for (long seq = 1; seq < frames; seq++) {
            for (int peer = 0; peer < all.size(); peer++) {
                if (peer != index) {
                    ByteBuf payload = encoder.encode(index, seq);
                    sentBytes += payload.readableBytes();
                    transport.send(all.get(peer), payload, SEND_TIMEOUT);
                    sent++;
                }
            }
        }
        boolean flushed = transport.flush(SEND_TIMEOUT);
        long sendMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        receiver.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        long receiveMillis = TimeUnit.NANOSECONDS.toMillis((receiver.isAlive() ? System.nanoTime() : receiveEnd[0]) - start);
        Reports.send(transport, ctx.parent(), "MESH index=" + index + " mode=" + transport.config().ioMode()
                + " sent=" + sent + " sentBytes=" + sentBytes + " flushed=" + flushed + " sendMs=" + sendMillis
                + " receiveMs=" + receiveMillis + " expected=" + expected + " " + checker.summary());
    }
}
