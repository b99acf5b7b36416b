package org.stagecrew.transport.netty;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;

/** An allocator with no memory left, as a JVM at its direct memory (or heap) limit: every allocation throws. */
final class ExhaustedAllocator extends AbstractByteBufAllocator {
    ExhaustedAllocator() {
        super(true);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        throw new OutOfMemoryError("Java heap space (test: no heap buffer of " + initialCapacity + " bytes)");
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        throw new OutOfMemoryError("Cannot reserve " + initialCapacity + " bytes of direct buffer memory (test)");
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }
}
