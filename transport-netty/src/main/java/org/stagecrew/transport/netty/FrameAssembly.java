package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * One large frame (length field and payload) put together from the reads that carry it, holding
 * memory proportional to the bytes received, whatever the peer's write pattern. A piece that fills
 * at least half of its read buffer is kept as a slice of that buffer, without a copy (the usual case:
 * a large frame arrives in large reads). A smaller piece is copied into a tail buffer that grows
 * geometrically with the bytes received, because a slice would keep its whole read buffer alive: a
 * frame dribbled one byte per read would otherwise hold a read buffer (4 KiB or more) per byte.
 * So the memory held is at most twice the bytes received plus {@value #MIN_TAIL} bytes.
 *
 * <p>Owns the buffers it holds until {@link #take()} or {@link #release()}. Confined to the channel's
 * event loop.
 */
final class FrameAssembly {
    /** The smallest tail buffer: a dribbling peer costs at most this much beyond twice what it sent. */
    static final int MIN_TAIL = 8 * 1024;

    private final ByteBufAllocator alloc;
    private final CompositeByteBuf parts;
    private final int length;
    /** The copy buffer being filled, or null; its bytes from {@link #tailMark} on are not yet in {@link #parts}. */
    private ByteBuf tail;
    private int tailMark;
    private int received;
    /** Capacity of every buffer that the parts keep alive. */
    private long retained;

    /** Starts an assembly of a frame of {@code length} bytes, length field included. */
    FrameAssembly(ByteBufAllocator alloc, int length) {
        this.alloc = alloc;
        this.length = length;
        this.parts = alloc.compositeDirectBuffer(Integer.MAX_VALUE);
    }

    /** Takes from {@code in} (moving its reader index) as many bytes as the frame still lacks; returns whether it is complete. */
    boolean append(ByteBuf in) {
        int take = Math.min(length - received, in.readableBytes());
        if (take > 0 && (long) take * 2 >= in.capacity()) {
            flushTail();
            parts.addComponent(true, in.retainedSlice(in.readerIndex(), take));
            retained += in.capacity();
            in.skipBytes(take);
            received += take;
        } else if (take > 0) {
            copy(in, take);
        }
        return received == length;
    }

    /** Copies {@code take} bytes of {@code in} into tail buffers. */
    private void copy(ByteBuf in, int take) {
        while (take > 0) {
            if (tail == null) {
                // Sized for this piece, and growing with what has arrived: the copies cost O(1) per byte, and the
                // tails hold at most twice the bytes received (plus MIN_TAIL).
                int size = Math.min(length - received, Math.max(MIN_TAIL, Math.max(received, take)));
                tail = alloc.directBuffer(size, size);
                tailMark = 0;
                retained += tail.capacity();
            }
            int n = Math.min(take, tail.writableBytes());
            tail.writeBytes(in, n);
            take -= n;
            received += n;
            if (!tail.isWritable()) {
                flushTail();
                tail.release(); // the parts keep it alive
                tail = null;
            }
        }
    }

    /** Adds the tail's bytes not yet in the parts, as a slice, so that a slice of a read can follow them. */
    private void flushTail() {
        if (tail != null && tail.writerIndex() > tailMark) {
            parts.addComponent(true, tail.retainedSlice(tailMark, tail.writerIndex() - tailMark));
            tailMark = tail.writerIndex();
        }
    }

    /** Bytes of the frame received so far. */
    int received() {
        return received;
    }

    /** Capacity of the buffers held, which is what this assembly costs in memory. */
    long retained() {
        return retained;
    }

    /** Hands over the complete frame; the caller owns it, this assembly holds nothing more. */
    ByteBuf take() {
        flushTail();
        releaseTail();
        return parts;
    }

    /** Releases what is held; for a frame that will not be completed. */
    void release() {
        releaseTail();
        parts.release();
    }

    private void releaseTail() {
        if (tail != null) {
            tail.release();
            tail = null;
        }
    }
}
