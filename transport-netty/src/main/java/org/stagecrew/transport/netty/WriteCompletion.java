package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.transport.TransportException;

/**
 * Settles the frames of one write to a connection's channel: completes their futures, or reports
 * the frames without a future to the undeliverable handler, and tells the connection that the write
 * finished (for {@code flush} and, for a slice of a {@link Segment}, for the segment's memory).
 *
 * <p>A write that fails on a channel that stays open (the channel could not read a zero-copy
 * payload, say) closes the channel: its frame's header may have gone out without it, and the
 * destination would read the next frames' bytes as its payload.
 *
 * <p>A frame whose bytes reached the socket is never reported failed. A write can fail after part
 * of its buffer was written (the connection closed while the destination was not reading); the
 * channel reports how far each write got through a progressive promise, and on every partial write
 * this walks the frame headers of the written part, while the channel still holds the buffer, and
 * completes the frames that were written whole at once. If the write then fails, only the frames
 * after them fail, and the one frame the failure cut in two fails with an exception that says how
 * many of its bytes were written (the destination drops an incomplete frame).
 *
 * <p>It is the write's own promise ({@link ReusablePromise}): the channel reports progress and the
 * outcome to it directly. Once its write completed and its frames are settled, it goes back to its
 * {@link WriteCompletions} pool for a later write of the same connection, so that a write allocates
 * nothing.
 *
 * <p>Event loop only. One object per write in flight, not per frame.
 */
final class WriteCompletion extends ReusablePromise {
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;

    private final OutboundConnection connection;
    private final WriteCompletions pool;
    /** The segment this write is a slice of, whose capacity counts until its last write completes; or null. */
    private Segment segment;
    /** The frames of this write, in order; a zero-copy payload is one frame whose header went before. */
    private int frames;
    /** Whether a frame of this write has a future: then {@link #futures} holds one entry per frame. */
    private boolean withFutures;
    /** Per frame, its future or null, while {@link #withFutures}; kept across writes for its capacity. */
    private ArrayList<CompletableFuture<Void>> futures;
    /** Whether this write is the payload of one zero-copy frame, without its header. */
    private boolean payloadOnly;
    /** The zero-copy payload whose header ends this write, or null. */
    private WriteCompletion payloadAfter;
    /** For a zero-copy payload: whether bytes of its header, written before it, reached the socket. */
    private boolean headerWritten;
    /** The buffer written and its reader index then; read only while the channel still holds it. */
    private ByteBuf buffer;
    private int start;
    private long total;
    /** Bytes of this write that reached the socket, as the channel last reported. */
    private long written;
    /** Leading frames written whole and settled, and the offset just after them. */
    private int settled;
    private long settledEnd;
    /** The length, header included, of the frame that {@link #written} ends inside; 0 if none. */
    private long cutLength;

    /** A completion of {@code connection}'s writes, taken from and given back to {@code pool}. */
    WriteCompletion(OutboundConnection connection, WriteCompletions pool) {
        this.connection = connection;
        this.pool = pool;
    }

    /** Starts a new write, a slice of {@code segment} if not null; the previous write of this object has completed. */
    WriteCompletion start(Segment of) {
        segment = of;
        return this;
    }

    /** Forgets the completed write, so that it holds no frame, future or buffer while pooled. */
    private void clear() {
        segment = null;
        frames = 0;
        if (withFutures) {
            futures.clear();
            withFutures = false;
        }
        payloadOnly = false;
        payloadAfter = null;
        headerWritten = false;
        buffer = null;
        start = 0;
        total = 0;
        written = 0;
        settled = 0;
        settledEnd = 0;
        cutLength = 0;
    }

    /** Adds {@code count} frames without a future, reported to the undeliverable handler if they fail. */
    WriteCompletion unreported(int count) {
        if (!withFutures) {
            frames += count;
        } else {
            for (int i = 0; i < count; i++) {
                add(null);
            }
        }
        return this;
    }

    /** Adds the next frame of the write, with its future or none ({@code null}). */
    WriteCompletion add(CompletableFuture<Void> future) {
        if (future != null && !withFutures) {
            if (futures == null) {
                futures = new ArrayList<>(frames + 8);
            }
            for (int i = 0; i < frames; i++) {
                futures.add(null);
            }
            withFutures = true;
        }
        if (withFutures) {
            futures.add(future);
        }
        frames++;
        return this;
    }

    /**
     * Makes this the write of one zero-copy frame's payload, whose 4-byte header ends the write of
     * {@code header}: the frame counts as cut if the header went out and the payload did not.
     */
    WriteCompletion payloadOf(WriteCompletion header, CompletableFuture<Void> future) {
        payloadOnly = true;
        header.payloadAfter = this;
        return add(future);
    }

    /** Writes {@code buf} (ownership passes to the channel) with this as its promise, which settles the write's frames. */
    void write(Channel ch, ByteBuf buf) {
        buffer = buf;
        start = buf.readerIndex();
        total = buf.readableBytes();
        connection.writeStarted(segment);
        ch.write(buf, reset(ch));
    }

    @Override
    void progressed(long progress) {
        written = progress;
        if (progress < total && !payloadOnly) {
            settleWritten(); // partly written: the buffer is still alive, find the frames it finished
        }
    }

    private void settleWritten() {
        while (settled < frames) {
            long end = settledEnd + HEADER + buffer.getUnsignedInt(start + (int) settledEnd);
            if (end > written) {
                cutLength = written > settledEnd ? end - settledEnd : 0;
                return;
            }
            settle(settled, null);
            settled++;
            settledEnd = end;
        }
        cutLength = 0;
    }

    @Override
    void completed(Throwable failure) {
        buffer = null;
        try {
            if (failure == null) {
                for (int i = settled; i < frames; i++) {
                    settle(i, null);
                }
                if (payloadAfter != null) {
                    payloadAfter.headerWritten = true;
                }
            } else {
                Channel ch = channel();
                if (ch.isOpen()) {
                    // The channel failed the write without closing (a payload it could not read, say): the bytes
                    // after it would be read as this write's frames. Only a new connection puts the stream right.
                    ch.close();
                }
                fail(connection.writeFailure(failure));
            }
        } finally {
            try {
                // A failed write counts the frames it settled as written and the bytes that reached the socket.
                connection.writeFinished(segment, failure == null ? frames : settled, failure == null ? total : written);
            } finally {
                clear();
                pool.give(this);
            }
        }
    }

    private void fail(TransportException cause) {
        int next = settled;
        if (next < frames && (payloadOnly ? headerWritten || written > 0 : cutLength > 0)) {
            long done = payloadOnly ? (headerWritten ? HEADER : 0) + written : written - settledEnd;
            long length = payloadOnly ? HEADER + total : cutLength;
            TransportException partial = Failures.cutByFailure(connection.destination(), cause, done, length);
            if (!settle(next, partial)) {
                connection.reportUndeliverable(1, partial);
            }
            next++;
        } else if (next == frames && written > settledEnd && payloadAfter != null) {
            payloadAfter.headerWritten = true; // every frame went whole, and part of the next one's header
        }
        int unreported = 0;
        for (int i = next; i < frames; i++) {
            if (!settle(i, cause)) {
                unreported++;
            }
        }
        if (unreported > 0) {
            connection.reportUndeliverable(unreported, cause);
        }
    }

    /** Completes frame {@code i}'s future, with success if {@code cause} is null; false if it has none. */
    private boolean settle(int i, TransportException cause) {
        CompletableFuture<Void> f = withFutures ? futures.get(i) : null;
        if (f == null) {
            return false;
        }
        if (cause == null) {
            f.complete(null);
        } else {
            connection.counters().failed(cause, 1);
            f.completeExceptionally(cause);
        }
        return true;
    }
}
