package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.PeerCredentials;

/**
 * The reused flyweight {@link Frame} that a consumer hands to handlers: a read-only view of the
 * batch buffer ({@link ReadOnlyBatchBuf}), re-pointed at each batch and, by moving its indices, at
 * each frame. Nothing is allocated per frame or per batch.
 *
 * <p>Confined to the consuming thread.
 */
final class FrameView implements Frame {
    private Address sender;
    private PeerCredentials credentials;
    private final ReadOnlyBatchBuf batchView = new ReadOnlyBatchBuf();

    /** Points the view at a new batch. */
    void batch(InboundBatch batch) {
        this.sender = batch.sender;
        this.credentials = batch.credentials;
        batchView.target(batch.buffer);
    }

    /** Points the view at the payload at {@code [index, index + length)} of the current batch. */
    void frame(int index, int length) {
        batchView.setIndex(index, index + length);
    }

    void clear() {
        sender = null;
        credentials = null;
        batchView.detach();
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
