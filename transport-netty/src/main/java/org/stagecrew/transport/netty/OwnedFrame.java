package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.atomic.AtomicBoolean;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.PeerCredentials;

/** A {@link Frame} that owns one reference to its payload and releases it once on {@link #close()}. */
final class OwnedFrame implements Frame {
    private final Address sender;
    private final PeerCredentials credentials;
    private final ByteBuf payload;
    private final AtomicBoolean closed = new AtomicBoolean();

    OwnedFrame(Address sender, PeerCredentials credentials, ByteBuf payload) {
        this.sender = sender;
        this.credentials = credentials;
        this.payload = payload;
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
        return payload;
    }

    @Override
    public boolean isOwned() {
        return true;
    }

    @Override
    public Frame retain() {
        ensureOpen();
        return new OwnedFrame(sender, credentials, payload.retainedSlice());
    }

    @Override
    public Frame copy() {
        ensureOpen();
        return new OwnedFrame(sender, credentials, payload.copy());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            payload.release();
        }
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("frame from " + sender + " is already closed");
        }
    }

    @Override
    public String toString() {
        return "Frame{sender=" + sender + ", length=" + payload.readableBytes() + (closed.get() ? ", closed}" : "}");
    }
}
