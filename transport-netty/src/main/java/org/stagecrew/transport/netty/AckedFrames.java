package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.transport.TransportException;

/**
 * The frames an {@link AckedConnection} holds until they are acknowledged, numbered implicitly:
 * {@code unacked} holds the frames written and not acknowledged, numbered from {@link #first()};
 * {@code queued} those not written on the current connection, which take the next numbers when
 * written. Thread-safe (this object's monitor): senders add from any thread, the event loop takes,
 * acknowledges and moves back, and {@link #end} may run on any thread. A frame is copied or
 * retained under the monitor before it is written, so an {@link #end} never releases bytes that a
 * write still reads.
 */
final class AckedFrames {
    /** Frames below this length are copied back to back into chunks of this size; longer ones are written as they are. */
    static final int CHUNK = 64 * 1024;

    /** A frame held until acknowledged: its encoded bytes (length field and payload), and its sender's future or null. */
    static final class Held {
        final ByteBuf frame;
        final CompletableFuture<Void> future;

        Held(ByteBuf frame, CompletableFuture<Void> future) {
            this.frame = frame;
            this.future = future;
        }

        int payloadLength() {
            return frame.readableBytes() - Protocol.LENGTH_FIELD_LENGTH;
        }
    }

    private final ArrayDeque<Held> queued = new ArrayDeque<>();
    private final ArrayDeque<Held> unacked = new ArrayDeque<>();
    private long first;
    private TransportException ended;

    /** Adds a frame behind every other; returns null, or the cause that ended the stream (the frame is not taken). */
    synchronized TransportException add(Held held) {
        if (ended != null) {
            return ended;
        }
        queued.addLast(held);
        return null;
    }

    /** The number of the oldest frame not acknowledged: what a hello states. */
    synchronized long first() {
        return first;
    }

    /** One past the number of the last frame written. */
    synchronized long written() {
        return first + unacked.size();
    }

    /** Whether frames wait to be written. */
    synchronized boolean hasQueued() {
        return ended == null && !queued.isEmpty();
    }

    synchronized boolean isHolding() {
        return ended == null && (!queued.isEmpty() || !unacked.isEmpty());
    }

    synchronized boolean isEnded() {
        return ended != null;
    }

    /**
     * A new connection resumes at {@code resume}: the frames numbered from there on go back to be
     * written again. Returns false, changing nothing, if {@code resume} lies outside the frames held.
     */
    synchronized boolean resumeAt(long resume) {
        if (resume < first || resume > first + unacked.size()) {
            return false;
        }
        while (first + unacked.size() > resume) {
            queued.addFirst(unacked.pollLast());
        }
        return true;
    }

    /**
     * The next bytes to write, moving their frames to the written ones: small frames copied back to
     * back into one chunk from {@code alloc}, or one large frame retained (also a small one when {@code
     * alloc} has no memory left: it is held anyway, so the stream goes on). Stops before a frame with a
     * payload above {@code maxPayload} ({@link #takeTooLarge}). Null if there is nothing to write.
     */
    synchronized ByteBuf take(ByteBufAllocator alloc, long maxPayload) {
        Held next = queued.peekFirst();
        if (ended != null || next == null || next.payloadLength() > maxPayload) {
            return null;
        }
        if (next.frame.readableBytes() >= CHUNK / 4) {
            return takeAsItIs();
        }
        // Sized to the frames it takes, so that the memory a full socket holds is what the frames need.
        int size = 0;
        for (Held h : queued) {
            int length = h.frame.readableBytes();
            if (length >= CHUNK / 4 || size + length > CHUNK || h.payloadLength() > maxPayload) {
                break;
            }
            size += length;
        }
        ByteBuf out;
        try {
            out = alloc.directBuffer(size, size);
        } catch (OutOfMemoryError e) {
            return takeAsItIs(); // no memory for a chunk: the frame is held anyway, write it without one
        }
        while (out.isWritable()) {
            Held h = queued.pollFirst();
            out.writeBytes(h.frame, h.frame.readerIndex(), h.frame.readableBytes());
            unacked.addLast(h);
        }
        return out;
    }

    /** Moves the next frame to the written ones and returns its bytes, retained: a write that needs no memory. */
    private ByteBuf takeAsItIs() {
        Held next = queued.pollFirst();
        unacked.addLast(next);
        return next.frame.retainedDuplicate();
    }

    /** Removes and returns the next frame to write if its payload is above {@code maxPayload}, else null. */
    synchronized Held takeTooLarge(long maxPayload) {
        Held next = queued.peekFirst();
        if (ended != null || next == null || next.payloadLength() <= maxPayload) {
            return null;
        }
        return queued.pollFirst();
    }

    /**
     * Moves the frames numbered below {@code upTo} into {@code into}; returns their bytes held, or -1
     * (changing nothing) if {@code upTo} is beyond the frames written.
     */
    synchronized long acknowledge(long upTo, List<Held> into) {
        if (upTo > first + unacked.size()) {
            return -1;
        }
        long bytes = 0;
        for (; first < upTo; first++) {
            Held held = unacked.pollFirst();
            bytes += held.frame.capacity();
            into.add(held);
        }
        return bytes;
    }

    /** Ends the stream with {@code cause} and returns every frame held; null if it had ended already. */
    synchronized List<Held> end(TransportException cause) {
        if (ended != null) {
            return null;
        }
        ended = cause;
        List<Held> all = new ArrayList<>(unacked.size() + queued.size());
        all.addAll(unacked);
        all.addAll(queued);
        unacked.clear();
        queued.clear();
        return all;
    }
}
