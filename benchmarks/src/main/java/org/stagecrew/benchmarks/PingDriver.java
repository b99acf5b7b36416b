package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Ping-pong driven from the I/O thread of a pushing endpoint: each answer is timed and the next
 * ping sent right there (at the schedule's time), so no other thread wakes or spins per round trip.
 */
final class PingDriver implements Endpoint.Sink, AutoCloseable {
    private final Endpoint endpoint;
    private final FrameSender sender;
    private final int warmup;
    private final int total;
    private final PingSchedule schedule;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private int answered;
    private long sentAt;

    PingDriver(Endpoint endpoint, String destination, int size, int warmup, int count, PingSchedule schedule) {
        this.endpoint = endpoint;
        this.sender = new FrameSender(endpoint, destination, size);
        this.warmup = warmup;
        this.total = warmup + count;
        this.schedule = schedule;
    }

    void run() throws Exception {
        endpoint.onFrames(this);
        sentAt = schedule.nextSend();
        sender.send(0);
        done.get(Math.max(60, total / 1000), TimeUnit.SECONDS);
    }

    @Override
    public void onFrame(ByteBuf payload) {
        if (answered++ >= warmup) {
            schedule.recordReply(sentAt);
        }
        if (answered == total) {
            done.complete(null);
            return;
        }
        try {
            sentAt = schedule.nextSend(); // paced: spins on the event loop until the intended time
            sender.send(answered);
        } catch (Exception e) {
            done.completeExceptionally(e);
        }
    }

    @Override
    public void close() {
        endpoint.onFrames(null);
        sender.close();
    }
}
