package org.stagecrew.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.concurrency.Ask;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Round trips of 64-byte frames, one at a time, between this JVM's main thread and a thread unit
 * over the socket transport: raw send/receive ping-pong against {@link Ask} request/reply, in the
 * same run, alternating, and their ratio. Run: {@code java -cp stagecrew-benchmarks.jar
 * org.stagecrew.benchmarks.AskPingPongMain [round trips] [rounds]} (defaults 20000 and 3). Prints
 * {@code raw_rt_per_s=<r> ask_rt_per_s=<a> ratio=<a/r>} per round.
 */
public final class AskPingPongMain {
    private static final int SIZE = 64;
    private static final Duration WAIT = Duration.ofSeconds(10);

    private AskPingPongMain() {
    }

    /** Runs the comparison; see the class comment. */
    public static void main(String[] args) throws Exception {
        int trips = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "scask-");
        TransportConfig config = TransportConfig.builder().ioMode(IoMode.EPOLL.isAvailable() ? IoMode.EPOLL : IoMode.NIO)
                .socketDirectory(dir).build();
        try (Transport me = Transport.open(config); Ask ask = new Ask(me);
             Concurrency echo = Concurrency.thread(ctx -> {
                 while (!ctx.isStopRequested()) {
                     try (Frame frame = ctx.transport().receive(Duration.ofSeconds(1))) {
                         if (frame == null) {
                             continue;
                         }
                         if (Ask.isRequest(frame)) {
                             Ask.reply(ctx.transport(), frame, Ask.body(frame).retain());
                         } else {
                             ctx.transport().send(frame.sender(), frame.payload(), 0, frame.payload().readableBytes(), WAIT);
                         }
                     }
                 }
             }).transportConfig(config).start()) {
            ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(SIZE).writeZero(SIZE);
            try {
                raw(me, echo, payload, trips / 4); // warm-up
                askLoop(me, ask, echo, payload, trips / 4);
                for (int r = 0; r < rounds; r++) {
                    double raw = raw(me, echo, payload, trips);
                    double asked = askLoop(me, ask, echo, payload, trips);
                    System.out.printf("size=%d raw_rt_per_s=%.0f ask_rt_per_s=%.0f ratio=%.2f%n", SIZE, raw, asked, asked / raw);
                }
            } finally {
                payload.release();
            }
        }
    }

    private static double raw(Transport me, Concurrency echo, ByteBuf payload, int trips) {
        long start = System.nanoTime();
        for (int i = 0; i < trips; i++) {
            me.send(echo.address(), payload, 0, SIZE, WAIT);
            try (Frame reply = me.receive(WAIT)) {
                if (reply == null) {
                    throw new IllegalStateException("no echo within " + WAIT);
                }
            }
        }
        return trips / ((System.nanoTime() - start) / 1e9);
    }

    private static double askLoop(Transport me, Ask ask, Concurrency echo, ByteBuf payload, int trips) {
        long start = System.nanoTime();
        for (int i = 0; i < trips; i++) {
            CompletableFuture<Frame> answer = ask.ask(echo.address(), payload.retainedDuplicate(), WAIT);
            try (Frame reply = me.receive(WAIT)) {
                if (reply == null || !ask.complete(reply)) {
                    throw new IllegalStateException("no reply within " + WAIT);
                }
            }
            answer.join().close();
        }
        return trips / ((System.nanoTime() - start) / 1e9);
    }
}
