package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.GatheringByteChannel;

/**
 * The payload a {@link FrameView} hands to handlers: a read-only {@link ByteBuf} that reads through
 * the buffer of the batch being walked, and is pointed at the next batch's buffer by
 * {@link #target(ByteBuf)} instead of being replaced. One per consumer, so walking batches
 * allocates no wrapper ({@link ByteBuf#asReadOnly()} would allocate one per batch buffer object).
 *
 * <p>Every write is refused ({@link WriteRefusingByteBuf}). Reference counting is the current target's. Derived
 * buffers ({@code slice}, {@code duplicate}, their retained forms, {@code copy}, NIO buffers) are
 * taken from the target, not from this view, so a retained slice stays valid and unchanged after
 * the view moves on, as Netty's idioms expect; they are read-only too.
 *
 * <p>Confined to the consuming thread, like the {@link FrameView} that owns it. Valid only while
 * its target is the current batch's buffer.
 */
final class ReadOnlyBatchBuf extends WriteRefusingByteBuf {
    private ByteBuf target;

    ReadOnlyBatchBuf() {
        super(0);
    }

    /** Points the view at {@code buffer} (not retained: the caller keeps it alive while the view is used), indices 0..0. */
    ReadOnlyBatchBuf target(ByteBuf buffer) {
        this.target = buffer;
        maxCapacity(buffer.capacity());
        setIndex(0, 0);
        return this;
    }

    /** Forgets the target: until the next {@link #target}, every access throws as on a released buffer. */
    void detach() {
        this.target = null;
    }

    // ---- reads: through the target ----

    @Override
    protected byte _getByte(int index) {
        return target.getByte(index);
    }

    @Override
    protected short _getShort(int index) {
        return target.getShort(index);
    }

    @Override
    protected short _getShortLE(int index) {
        return target.getShortLE(index);
    }

    @Override
    protected int _getUnsignedMedium(int index) {
        return target.getUnsignedMedium(index);
    }

    @Override
    protected int _getUnsignedMediumLE(int index) {
        return target.getUnsignedMediumLE(index);
    }

    @Override
    protected int _getInt(int index) {
        return target.getInt(index);
    }

    @Override
    protected int _getIntLE(int index) {
        return target.getIntLE(index);
    }

    @Override
    protected long _getLong(int index) {
        return target.getLong(index);
    }

    @Override
    protected long _getLongLE(int index) {
        return target.getLongLE(index);
    }

    @Override
    public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
        checkIndex(index, length);
        target.getBytes(index, dst, dstIndex, length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, byte[] dst, int dstIndex, int length) {
        checkIndex(index, length);
        target.getBytes(index, dst, dstIndex, length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, ByteBuffer dst) {
        checkIndex(index, dst.remaining());
        target.getBytes(index, dst);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, OutputStream out, int length) throws IOException {
        checkIndex(index, length);
        target.getBytes(index, out, length);
        return this;
    }

    @Override
    public int getBytes(int index, GatheringByteChannel out, int length) throws IOException {
        checkIndex(index, length);
        return target.getBytes(index, out, length);
    }

    @Override
    public int getBytes(int index, FileChannel out, long position, int length) throws IOException {
        checkIndex(index, length);
        return target.getBytes(index, out, position, length);
    }

    @Override
    public ByteBuf copy(int index, int length) {
        checkIndex(index, length);
        return target.copy(index, length);
    }

    // ---- derived buffers: from the target, read-only ----

    @Override
    public ByteBuf slice(int index, int length) {
        checkIndex(index, length);
        return target.slice(index, length).asReadOnly();
    }

    @Override
    public ByteBuf retainedSlice(int index, int length) {
        checkIndex(index, length);
        return target.retainedSlice(index, length).asReadOnly();
    }

    @Override
    public ByteBuf slice() {
        return slice(readerIndex(), readableBytes());
    }

    @Override
    public ByteBuf retainedSlice() {
        return retainedSlice(readerIndex(), readableBytes());
    }

    @Override
    public ByteBuf duplicate() {
        ensureAccessible();
        return target.duplicate().setIndex(readerIndex(), writerIndex()).asReadOnly();
    }

    @Override
    public ByteBuf retainedDuplicate() {
        ensureAccessible();
        return target.retainedDuplicate().setIndex(readerIndex(), writerIndex()).asReadOnly();
    }

    @Override
    public int nioBufferCount() {
        return target.nioBufferCount();
    }

    @Override
    public ByteBuffer nioBuffer(int index, int length) {
        checkIndex(index, length);
        return target.nioBuffer(index, length).asReadOnlyBuffer();
    }

    @Override
    public ByteBuffer internalNioBuffer(int index, int length) {
        return nioBuffer(index, length);
    }

    @Override
    public ByteBuffer[] nioBuffers(int index, int length) {
        checkIndex(index, length);
        ByteBuffer[] buffers = target.nioBuffers(index, length);
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = buffers[i].asReadOnlyBuffer();
        }
        return buffers;
    }

    // ---- what the buffer is ----

    @Override
    public int capacity() {
        return target.capacity();
    }

    @Override
    public ByteBufAllocator alloc() {
        return target.alloc();
    }

    @Override
    @SuppressWarnings("deprecation")
    public ByteOrder order() {
        return target.order();
    }

    @Override
    public ByteBuf unwrap() {
        return target;
    }

    @Override
    public boolean isDirect() {
        return target.isDirect();
    }

    @Override
    public boolean isContiguous() {
        return target.isContiguous();
    }

    // ---- reference counting: the target's ----

    @Override
    public int refCnt() {
        ByteBuf t = target;
        return t == null ? 0 : t.refCnt();
    }

    @Override
    public ByteBuf retain() {
        target.retain();
        return this;
    }

    @Override
    public ByteBuf retain(int increment) {
        target.retain(increment);
        return this;
    }

    @Override
    public ByteBuf touch() {
        target.touch();
        return this;
    }

    @Override
    public ByteBuf touch(Object hint) {
        target.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return target.release();
    }

    @Override
    public boolean release(int decrement) {
        return target.release(decrement);
    }
}
