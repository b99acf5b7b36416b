package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.PeerCredentials;

/**
 * The reused flyweight {@link Frame} that a consumer hands to handlers: a read-only view of the
 * batch buffer, re-pointed at each frame by moving its indices. Nothing is allocated per frame.
 *
 * <p>Nor, in steady state, per batch: the read-only wrappers of up to {@value #CACHED_VIEWS} batch
 * buffers are kept, by the identity of the buffer object they wrap, in a direct-mapped table (the
 * slot is the object's identity hash; a new wrapper replaces the one in its slot). Netty recycles
 * the objects of pooled buffers and slices, so a later batch is often carried by the same object
 * (pointing at other memory by then), and its wrapper, which reads through that object, is reused.
 * The table is large because the objects come back in FIFO order, released by consumers on other
 * threads: a read loop cycles through more than a few dozen of them. A wrapper is only ever used
 * while the object it wraps is the current batch's buffer.
 *
 * <p>Confined to the consuming thread.
 */
final class FrameView implements Frame {
    static final int CACHED_VIEWS = 256;

    private Address sender;
    private PeerCredentials credentials;
    private ByteBuf batchView;
    /** Batch buffer objects seen lately, and at the same index the read-only wrapper of each. */
    private final ByteBuf[] wrapped = new ByteBuf[CACHED_VIEWS];
    private final ByteBuf[] views = new ByteBuf[CACHED_VIEWS];

    /** Points the view at a new batch, with a read-only wrapper of its buffer. */
    void batch(InboundBatch batch) {
        this.sender = batch.sender;
        this.credentials = batch.credentials;
        this.batchView = readOnly(batch.buffer);
    }

    private ByteBuf readOnly(ByteBuf buffer) {
        int h = System.identityHashCode(buffer);
        int slot = (h ^ (h >>> 16)) & (CACHED_VIEWS - 1);
        if (wrapped[slot] == buffer) {
            return views[slot];
        }
        ByteBuf view = buffer.asReadOnly();
        wrapped[slot] = buffer;
        views[slot] = view;
        return view;
    }

    /** Points the view at the payload at {@code [index, index + length)} of the current batch. */
    void frame(int index, int length) {
        batchView.setIndex(index, index + length);
    }

    void clear() {
        sender = null;
        credentials = null;
        batchView = null;
    }

    @Override
    public Address sender() {
        return sender;
    }

    @Override
    public PeerCredentials credentials() {
        return credentials;
    }

    @Override
    public ByteBuf payload() {
        return batchView;
    }

    @Override
    public boolean isOwned() {
        return false;
    }

    @Override
    public Frame retain() {
        return new OwnedFrame(sender, credentials, batchView.retainedSlice());
    }

    @Override
    public Frame copy() {
        return new OwnedFrame(sender, credentials, batchView.copy());
    }

    @Override
    public void close() {
        // A view owns nothing; the consumer releases the batch once every frame in it is handled.
    }

    @Override
    public String toString() {
        return "Frame{sender=" + sender + ", length=" + (batchView == null ? 0 : batchView.readableBytes()) + ", view}";
    }
}
