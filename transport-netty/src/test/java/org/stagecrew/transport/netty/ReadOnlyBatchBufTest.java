package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.IllegalReferenceCountException;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ReadOnlyBatchBufTest {
    private final ReadOnlyBatchBuf view = new ReadOnlyBatchBuf();
    private ByteBuf first;
    private ByteBuf second;

    @BeforeEach
    void batches() {
        // As the decoder makes them: retained slices of pooled read buffers.
        ByteBuf read1 = PooledByteBufAllocator.DEFAULT.directBuffer(64).writeBytes("xxhello, frame onexx".getBytes(StandardCharsets.US_ASCII));
        first = read1.retainedSlice(2, 16);
        read1.release();
        ByteBuf read2 = PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(0x0102030405060708L).writeInt(42);
        second = read2.retainedSlice();
        read2.release();
    }

    @AfterEach
    void release() {
        view.detach();
        for (ByteBuf b : List.of(first, second)) {
            if (b.refCnt() > 0) {
                b.release(b.refCnt());
            }
        }
    }

    @Test
    void readsTheCurrentTargetAndMovesOnToTheNextWithoutANewObject() {
        view.target(first).setIndex(0, 16);
        assertEquals("hello, frame one", view.toString(StandardCharsets.US_ASCII));
        assertEquals('h', view.readByte());
        assertEquals(1, view.readerIndex());
        assertEquals(0, first.readerIndex(), "the view's indices are its own");

        ByteBuf same = view.target(second);
        assertSame(view, same);
        view.setIndex(0, 12);
        assertEquals(0x0102030405060708L, view.readLong());
        assertEquals(42, view.readInt());
        assertEquals(0x08070605, view.getIntLE(4));
        byte[] dst = new byte[4];
        view.getBytes(8, dst);
        assertEquals(42, Unpooled.wrappedBuffer(dst).readInt());
        assertTrue(ByteBufUtil.equals(second.slice(0, 12), view.setIndex(0, 12)));
    }

    @Test
    void everyWriteIsRefusedAndLeavesTheBatchUnchanged() {
        view.target(first).setIndex(0, 16);
        String before = first.toString(StandardCharsets.US_ASCII);
        List<Consumer<ByteBuf>> writes = List.of(
                b -> b.setByte(0, 1), b -> b.setShort(0, 1), b -> b.setMedium(0, 1), b -> b.setInt(0, 1),
                b -> b.setLong(0, 1), b -> b.setIntLE(0, 1), b -> b.setBytes(0, new byte[2]),
                b -> b.setBytes(0, Unpooled.wrappedBuffer(new byte[2])), b -> b.setZero(0, 8),
                b -> b.setCharSequence(0, "zz", StandardCharsets.UTF_8), b -> b.setCharSequence(0, "zz", StandardCharsets.US_ASCII),
                b -> b.writerIndex(8).writeByte(1), b -> b.writerIndex(8).writeBytes(new byte[2]),
                b -> b.writerIndex(8).writeCharSequence("zz", StandardCharsets.UTF_8), b -> b.discardReadBytes(),
                b -> b.discardSomeReadBytes(), b -> b.ensureWritable(1), b -> b.capacity(4), b -> b.array(),
                b -> b.arrayOffset(), b -> b.nioBuffer().put((byte) 1), b -> b.slice().setByte(0, 1),
                b -> b.duplicate().setByte(0, 1));
        for (Consumer<ByteBuf> write : writes) {
            view.setIndex(0, 16);
            assertThrows(ReadOnlyBufferException.class, () -> write.accept(view));
        }
        assertThrows(UnsupportedOperationException.class, view::memoryAddress);
        assertFalse(view.hasArray());
        assertFalse(view.hasMemoryAddress());
        assertFalse(view.isWritable());
        assertTrue(view.isReadOnly());
        assertSame(view, view.asReadOnly());
        assertEquals(before, first.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void aRetainedSliceOutlivesTheViewMovingOn() {
        view.target(first).setIndex(7, 12);
        ByteBuf kept = view.readRetainedSlice(5);
        assertEquals(2, first.refCnt(), "the retained slice holds the batch");
        view.target(second);
        view.detach();
        assertEquals("frame", kept.toString(StandardCharsets.US_ASCII));
        assertTrue(kept.isReadOnly());
        assertThrows(ReadOnlyBufferException.class, () -> kept.setByte(0, 1));
        kept.release();
        assertEquals(1, first.refCnt());
        ByteBuf copy = view.target(first).setIndex(0, 5).copy();
        assertEquals("hello", copy.toString(StandardCharsets.US_ASCII));
        copy.release();
    }

    @Test
    void aDetachedViewReadsNothing() {
        view.target(first).setIndex(0, 16);
        view.detach();
        assertEquals(0, view.refCnt());
        assertThrows(IllegalReferenceCountException.class, () -> view.getByte(0));
    }

    @Test
    void readsOutsideTheFrameAreRefusedLikeAnyBuffer() {
        view.target(first).setIndex(2, 4);
        assertThrows(IndexOutOfBoundsException.class, () -> view.getByte(16));
        assertThrows(IndexOutOfBoundsException.class, () -> view.readInt());
        assertThrows(IndexOutOfBoundsException.class, () -> view.setIndex(0, 17));
    }
}
