package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;

/**
 * Whole frames decoded from one read of one connection, still in wire layout ({@code [u32 length]
 * [payload]} repeated), travelling from the event loop through the {@link Inbox} to a consumer.
 * One object per read, never one per frame. The consumer walks the frames with a cursor.
 */
final class InboundBatch {
    final Address sender;
    final PeerCredentials credentials;
    final ByteBuf buffer;
    final int frames;
    final int bytes;

    /** Reader position of the next frame's length field; consumer-side state. */
    int cursor;
    /** Frames not yet handed out; consumer-side state. */
    int remaining;

    InboundBatch(Address sender, PeerCredentials credentials, ByteBuf buffer, int frames) {
        this.sender = sender;
        this.credentials = credentials;
        this.buffer = buffer;
        this.frames = frames;
        this.bytes = buffer.readableBytes();
        this.cursor = buffer.readerIndex();
        this.remaining = frames;
    }
}
