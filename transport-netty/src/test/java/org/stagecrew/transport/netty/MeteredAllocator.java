package org.stagecrew.transport.netty;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;

/**
 * An allocator for fuzz targets that measures, exactly and without garbage collection, the memory
 * its buffers hold: every buffer is an unpooled one whose bytes the JDK frees on its last {@code
 * release()}, and {@link #used()} is what Netty's own allocator metric counts as still allocated.
 * So a buffer never released shows as bytes still used after the channel is finished (a leak in
 * the input at hand, not after some later GC), and a peak shows what a peer's bytes made us hold.
 * Buffers are still tracked by Netty's leak detector (PARANOID in the test JVMs).
 *
 * <p>Not thread-safe: for an {@code EmbeddedChannel}, which runs everything on the test's thread.
 */
final class MeteredAllocator extends AbstractByteBufAllocator {
    /** The memory itself; its own leak detector is off, because this class's buffers are tracked. */
    private final UnpooledByteBufAllocator memory = new UnpooledByteBufAllocator(true, true, false);
    private long largestRequest;

    MeteredAllocator() {
        super(true);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        largestRequest = Math.max(largestRequest, initialCapacity);
        return memory.heapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        largestRequest = Math.max(largestRequest, initialCapacity);
        return memory.directBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    /** Bytes of every buffer from this allocator not yet released (capacity, heap and direct). */
    long used() {
        return memory.metric().usedDirectMemory() + memory.metric().usedHeapMemory();
    }

    /** The largest initial capacity asked for since the last {@link #resetLargestRequest()}. */
    long largestRequest() {
        return largestRequest;
    }

    void resetLargestRequest() {
        largestRequest = 0;
    }
}
