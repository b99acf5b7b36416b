package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;
import org.stagecrew.concurrency.Task;
import org.stagecrew.concurrency.TaskContext;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.Transport;

/**
 * The units of {@link AckCrashIT}: a sender in acknowledged delivery that accounts for every future,
 * and a receiver that records what its application consumed in a memory-mapped file, which outlives
 * a SIGKILL (the pages belong to the kernel's page cache, not to the process).
 *
 * <p>Frame payload, 64 bytes: sequence number u64, 52 pattern bytes, CRC32 of the first 60 bytes u32.
 *
 * <p>Accounting file of a receiver incarnation: {@value #HEADER} header bytes (consumed u64, bad
 * checksums u64, out of order u64, stalled-with-frames-held flag u64), then one byte per sequence
 * number: how many times that frame was consumed. The sender's file: one byte per sequence number,
 * 1 if its send failed.
 */
public final class AckTasks {
    static final int PAYLOAD = 64;
    static final int HEADER = 32;
    static final Duration WAIT = Duration.ofSeconds(120);

    private AckTasks() {
    }

    static ByteBuf frame(long seq) {
        byte[] bytes = new byte[PAYLOAD];
        for (int i = 0; i < 8; i++) {
            bytes[i] = (byte) (seq >>> (56 - 8 * i));
        }
        for (int i = 8; i < 60; i++) {
            bytes[i] = (byte) (seq * 31 + i);
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, 60);
        long value = crc.getValue();
        for (int i = 0; i < 4; i++) {
            bytes[60 + i] = (byte) (value >>> (24 - 8 * i));
        }
        return ByteBufAllocator.DEFAULT.directBuffer(PAYLOAD).writeBytes(bytes);
    }

    /** The frame's sequence number, or -1 if its length or checksum is wrong. */
    static long check(ByteBuf payload) {
        if (payload.readableBytes() != PAYLOAD) {
            return -1;
        }
        byte[] bytes = new byte[PAYLOAD];
        payload.getBytes(payload.readerIndex(), bytes);
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, 60);
        long stated = payload.getUnsignedInt(payload.readerIndex() + 60);
        return crc.getValue() == stated ? payload.getLong(payload.readerIndex()) : -1;
    }

    static MappedByteBuffer map(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
        }
    }

    /**
     * Consumes frames and counts each in the accounting file {@code arguments[0]} ({@code
     * arguments[1]} frames), as the handler's last act, so that what was acknowledged is recorded.
     * With {@code arguments[2] >= 0} it stops consuming after that many frames, sets the stalled
     * flag once frames wait unconsumed, and waits to be killed.
     */
    public static final class Receiver implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            int frames = Integer.parseInt(ctx.arguments().get(1));
            long stallAfter = Long.parseLong(ctx.arguments().get(2));
            MappedByteBuffer account = map(Path.of(ctx.arguments().get(0)), HEADER + frames);
            Transport transport = ctx.transport();
            long[] state = new long[3]; // consumed, bad, out of order; the last seq follows
            long[] last = {-1};
            while (!ctx.isStopRequested()) {
                if (stallAfter >= 0 && state[0] >= stallAfter) {
                    long deadline = System.nanoTime() + WAIT.toNanos();
                    while (!((FrameSignals) transport).hasFrames() && System.nanoTime() < deadline) {
                        ctx.awaitStop(Duration.ofMillis(10));
                    }
                    account.putLong(24, 1);
                    ctx.awaitStop(WAIT);
                    return;
                }
                transport.poll(frame -> {
                    long seq = check(frame.payload());
                    if (seq < 0 || seq >= frames) {
                        account.putLong(8, ++state[1]);
                        return;
                    }
                    if (seq <= last[0]) {
                        account.putLong(16, ++state[2]);
                    }
                    last[0] = seq;
                    account.put(HEADER + (int) seq, (byte) (account.get(HEADER + (int) seq) + 1));
                    account.putLong(0, ++state[0]);
                }, stallAfter >= 0 ? 1 : 256, Duration.ofMillis(200));
            }
        }
    }

    /**
     * Sends {@code arguments[1]} frames to {@code peers[0]} with the future-returning send, at most
     * {@code arguments[2]} unfinished, marks each failed one in the file {@code arguments[0]}, and
     * reports {@code DONE sent= acknowledged= failed= types=} once every future has completed.
     */
    public static final class Sender implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            int frames = Integer.parseInt(ctx.arguments().get(1));
            int window = Integer.parseInt(ctx.arguments().get(2));
            Path failedFile = Path.of(ctx.arguments().get(0));
            Address target = ctx.peers().get(0);
            Transport transport = ctx.transport();
            byte[] failed = new byte[frames];
            Map<String, AtomicLong> types = new ConcurrentHashMap<>();
            AtomicLong acknowledged = new AtomicLong();
            Semaphore unfinished = new Semaphore(window);
            long start = System.nanoTime();
            for (int seq = 0; seq < frames; seq++) {
                if (!unfinished.tryAcquire(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                    throw new IllegalStateException("no send finished within " + WAIT + " at frame " + seq);
                }
                int s = seq;
                transport.send(target, frame(seq)).whenComplete((ok, e) -> {
                    if (e == null) {
                        acknowledged.incrementAndGet();
                    } else {
                        failed[s] = 1;
                        types.computeIfAbsent(e.getClass().getSimpleName(), k -> new AtomicLong()).incrementAndGet();
                    }
                    unfinished.release();
                });
            }
            if (!unfinished.tryAcquire(window, WAIT.toSeconds(), TimeUnit.SECONDS)) {
                throw new IllegalStateException("sends still unfinished " + WAIT + " after the last");
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            Files.write(failedFile, failed);
            StringBuilder kinds = new StringBuilder();
            new TreeMap<>(types).forEach((k, v) -> kinds.append(kinds.length() == 0 ? "" : ",").append(k).append(':').append(v));
            Reports.send(transport, ctx.parent(), "DONE sent=" + frames + " acknowledged=" + acknowledged.get() + " failed="
                    + (frames - acknowledged.get()) + " types=" + kinds + " millis=" + millis);
            ctx.awaitStop(WAIT);
        }
    }
}
