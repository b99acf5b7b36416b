package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;

/**
 * Whole frames decoded from one read of one connection, still in wire layout ({@code [u32 length]
 * [payload]} repeated), travelling from the event loop through the {@link Inbox} to a consumer.
 * One object per read, never one per frame; and reused: once consumed, the {@link Inbox} keeps it
 * for a later read ({@link Inbox#add} hands it back to the decoder as its spare, {@link #reset}
 * fills it again), so that steady reading allocates none. The consumer walks the frames with a
 * cursor.
 *
 * <p>Filled by the event loop before the batch is handed on; then owned by the one consumer that
 * took it from the inbox until {@link Inbox#consumed}. The inbox's lock orders the two.
 */
final class InboundBatch {
    Address sender;
    PeerCredentials credentials;
    ByteBuf buffer;
    int frames;
    /** Memory the batch holds: the capacity of the buffer it slices, at least its readable bytes. */
    int bytes;
    /** {@link Protocol#addressOf} the buffer, for reading length fields without the buffer's checks. */
    long address;

    /** Reader position of the next frame's length field; consumer-side state. */
    int cursor;
    /** Frames not yet handed out; consumer-side state. */
    int remaining;

    /** The acknowledged stream the frames belong to (protocol version 2), or null. Set before the batch is handed on. */
    AckStream stream;
    /** With {@link #stream}: the sequence number following the batch's last frame. */
    long streamEnd;

    InboundBatch(Address sender, PeerCredentials credentials, ByteBuf buffer, int frames, int retainedCapacity) {
        reset(sender, credentials, buffer, frames, retainedCapacity);
    }

    /** Fills this batch anew; {@code buffer} (ownership passes to the batch) holds the frames from its reader index. */
    InboundBatch reset(Address sender, PeerCredentials credentials, ByteBuf buffer, int frames, int retainedCapacity) {
        this.sender = sender;
        this.credentials = credentials;
        this.buffer = buffer;
        this.frames = frames;
        // What the batch keeps alive is the whole read buffer it is a slice of, not just its frames:
        // count that, so that the inbox's byte capacity bounds real memory.
        this.bytes = Math.max(buffer.readableBytes(), retainedCapacity);
        this.address = Protocol.addressOf(buffer);
        this.cursor = buffer.readerIndex();
        this.remaining = frames;
        this.stream = null;
        this.streamEnd = 0;
        return this;
    }

    /** Forgets the consumed batch's buffer and peer, so that a pooled batch holds nothing. */
    void clear() {
        sender = null;
        credentials = null;
        buffer = null;
        stream = null;
    }
}
