package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.internal.PlatformDependent;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.transport.TransportException;

/**
 * The write queue of one {@link OutboundConnection} and the packing of what it holds into writes.
 *
 * <p>The queue is a lock-free MPSC queue: any sending thread offers a frame (a {@link ByteBuf}
 * without a future, or an {@link PendingSend}) or a new {@link Segment} of its
 * own; only the event loop takes from it. {@link #pack} copies queued small frames back to back
 * into one pooled chunk of up to {@value #CHUNK_SIZE} bytes, writes frames of {@value
 * #ZERO_COPY_THRESHOLD} bytes or more from the caller's buffer behind a header-only chunk, and
 * hands segments to the {@link SegmentWriter}, which writes them as slices. A thread's frames meet
 * the channel in the order it sent them: a thread seals its segment before it queues a frame, and
 * what the segments hold is written before the frame.
 *
 * <p>Event loop only, except {@link #offer} (any thread); after the event loop terminated, the one
 * thread that fails what is left may call {@link #failQueued}.
 */
final class ChunkPacker {
    static final int CHUNK_SIZE = 256 * 1024;
    static final int MIN_CHUNK_SIZE = 4 * 1024;
    static final int ZERO_COPY_THRESHOLD = 32 * 1024;
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;

    private final OutboundConnection connection;
    private final WriteBudget budget;
    private final SegmentWriter segments;
    private final WriteCompletions completions;
    private final Queue<Object> queue = PlatformDependent.newMpscQueue();
    /** Bytes of queued frames handed to the channel so far; with the segments', a pass that changes it made progress. */
    private long handedOver;

    ChunkPacker(OutboundConnection connection, WriteBudget budget, SegmentWriter segments, WriteCompletions completions) {
        this.connection = connection;
        this.budget = budget;
        this.segments = segments;
        this.completions = completions;
    }

    /** Queues a frame or a segment. Any thread. */
    void offer(Object message) {
        queue.offer(message);
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Bytes handed to the channel so far, from the queue and from segments; a pass that changes it made progress. */
    long handedOver() {
        return handedOver + segments.written();
    }

    /**
     * Moves queued frames into the channel until it is full, the in-JVM peer's inbox is full, the
     * queue is empty or {@code limit} bytes moved; returns the bytes moved.
     *
     * @param longestFrame the longest payload the peer takes; a longer frame fails alone
     * @param localPeer the destination's inbox when it is in this JVM (LOCAL mode), else null
     */
    long pack(Channel ch, long limit, long longestFrame, Inbox localPeer) {
        ByteBuf chunk = null;
        WriteCompletion completion = null;
        long moved = 0;
        long dequeued = 0; // bytes of queued frames, which stop counting against the watermark once handed over
        long backlog = budget.queuedBytes();
        while (moved < limit && ch.isWritable() && !isFull(localPeer)) {
            Object message = queue.peek();
            if (message == null) {
                break;
            }
            if (message instanceof Segment) {
                queue.poll();
                segments.add((Segment) message);
                continue;
            }
            if (!segments.isEmpty()) {
                // A thread seals its segment before it queues a frame: write what it appended first.
                if (chunk != null) {
                    writeChunk(ch, chunk, completion);
                    chunk = null;
                }
                moved += segments.writeAll(ch, longestFrame);
            }
            queue.poll();
            ByteBuf payload;
            CompletableFuture<Void> future;
            if (message instanceof PendingSend) {
                payload = ((PendingSend) message).payload;
                future = ((PendingSend) message).future;
            } else {
                payload = (ByteBuf) message;
                future = null;
            }
            int length = payload.readableBytes();
            moved += HEADER + length;
            dequeued += HEADER + length;
            handedOver += HEADER + length;
            if (!PayloadChecks.isLive(payload)) {
                // Its owner released it, or a buffer under it, after handing it over: reading it would throw
                // out of this pass, or read freed (or reused) memory.
                failAlone(payload, future, Failures.releasedPayload(connection.destination(), length));
                continue;
            }
            if (length > longestFrame) {
                failAlone(payload, future, connection.tooLarge(length));
                continue;
            }
            if (chunk != null && chunk.writableBytes() < HEADER + (length >= ZERO_COPY_THRESHOLD ? 0 : length)) {
                completion.write(ch, chunk);
                chunk = null;
            }
            if (chunk == null) {
                // A zero-copy frame's chunk carries only its header and is written at once: no room for more.
                int size = length >= ZERO_COPY_THRESHOLD ? HEADER
                        : (int) Math.max(HEADER + length, Math.min(CHUNK_SIZE, Math.max(backlog - moved + HEADER + length, MIN_CHUNK_SIZE)));
                chunk = allocate(ch, size, payload, future);
                if (chunk == null) {
                    continue; // the frame failed alone; the next may find memory again
                }
                completion = completions.take(null);
            }
            int frameStart = chunk.writerIndex();
            chunk.writeInt(length);
            if (length >= ZERO_COPY_THRESHOLD) {
                // Header in the chunk, payload straight from the caller's buffer: no copy.
                WriteCompletion payloadCompletion = completions.take(null).payloadOf(completion, future);
                completion.write(ch, chunk);
                chunk = null;
                payloadCompletion.write(ch, payload);
            } else {
                try {
                    chunk.writeBytes(payload, payload.readerIndex(), length);
                } catch (RuntimeException e) { // a payload (of the caller's own ByteBuf class, say) that cannot be read
                    chunk.writerIndex(frameStart);
                    failAlone(payload, future, Failures.unreadablePayload(connection.destination(), length, e));
                    continue;
                }
                payload.release();
                completion.add(future);
            }
        }
        if (chunk != null) {
            writeChunk(ch, chunk, completion);
        }
        if (!segments.isEmpty()) {
            moved += segments.writeAll(ch, longestFrame);
        }
        if (dequeued > 0) {
            budget.release(dequeued);
        }
        return moved;
    }

    /** Whether {@code localPeer}, the in-JVM destination's inbox if any, is full. */
    static boolean isFull(Inbox localPeer) {
        return localPeer != null && localPeer.isFull();
    }

    private static void writeChunk(Channel ch, ByteBuf chunk, WriteCompletion completion) {
        if (chunk.isReadable()) {
            completion.write(ch, chunk);
        } else {
            chunk.release();
        }
    }

    /**
     * A chunk of {@code size} bytes, or null when the allocator has no memory left: then the frame in
     * hand fails alone (released, counted, reported to its future or else the undeliverable handler)
     * and the connection goes on, as after a frame too large.
     */
    private ByteBuf allocate(Channel ch, int size, ByteBuf payload, CompletableFuture<Void> future) {
        try {
            return ch.alloc().directBuffer(size);
        } catch (OutOfMemoryError e) {
            failAlone(payload, future, Failures.noMemory(connection.destination(), "a " + size + "-byte write buffer",
                    "the frame was dropped, the connection goes on", e));
            return null;
        }
    }

    /**
     * Fails one frame in hand while the connection goes on: releases its {@code payload} (unless
     * its owner did: {@link PayloadChecks#releaseFailed}), counts it, and reports it to its future,
     * else the undeliverable handler.
     */
    private void failAlone(ByteBuf payload, CompletableFuture<Void> future, TransportException cause) {
        PayloadChecks.releaseFailed(payload);
        if (future != null) {
            connection.counters().failed(cause, 1);
            future.completeExceptionally(cause);
        } else {
            connection.reportUndeliverable(1, cause);
        }
    }

    /**
     * Fails every queued frame with {@code cause}: completes the futures, releases the payloads,
     * discards the segments and gives their budget back; returns the frames without a future, for
     * the caller to report.
     */
    int failQueued(TransportException cause) {
        int unreported = 0;
        long bytes = 0;
        Object message;
        while ((message = queue.poll()) != null) {
            if (message instanceof Segment) {
                unreported += segments.discard((Segment) message);
                continue;
            }
            ByteBuf payload;
            if (message instanceof PendingSend) {
                payload = ((PendingSend) message).payload;
                connection.counters().failed(cause, 1);
                ((PendingSend) message).future.completeExceptionally(cause);
            } else {
                payload = (ByteBuf) message;
                unreported++;
            }
            bytes += HEADER + payload.readableBytes();
            PayloadChecks.releaseFailed(payload); // unless its owner released it after handing it over
        }
        if (bytes > 0) {
            budget.release(bytes);
        }
        return unreported;
    }
}
