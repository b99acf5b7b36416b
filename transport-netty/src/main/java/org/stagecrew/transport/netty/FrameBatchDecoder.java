package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.RecvByteBufAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.PeerCredentials;

/**
 * Splits an accepted connection's byte stream into frames and hands them to the {@link Inbox} in
 * batches: every whole frame of one read goes out as one retained slice of the read buffer, with
 * no copy. A frame cut by the end of a read is carried to the front of the next read's buffer when
 * the channel reads through {@link ReadBuffers} (up to {@value ReadBuffers#CARRY_LIMIT} bytes, and
 * once per frame), and so arrives whole with the frames after it. Else it is completed from the next
 * reads: a small one is copied into a buffer sized for it, a large one ({@value #ASSEMBLE_THRESHOLD}
 * bytes and more) is put together by a {@link FrameAssembly}: from slices of large reads without a
 * copy, with small pieces copied, so that the memory held stays proportional to the bytes received.
 * With an event-loop handler configured, each batch is walked here instead, frame by frame, with
 * a reused {@link FrameView}: no hand-off to another thread.
 *
 * <p>A length above {@code maxFrameLength} is a protocol error: the frames before it are
 * delivered, a {@link Protocol#PROTOCOL_ERROR} notice with the reason is sent, and this connection
 * alone is closed. Confined to the channel's event loop.
 */
final class FrameBatchDecoder extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(FrameBatchDecoder.class);
    private static final int HEADER = Protocol.LENGTH_FIELD_LENGTH;
    /** Payloads from this length on are assembled from slices of the reads instead of copied. */
    static final int ASSEMBLE_THRESHOLD = 32 * 1024;

    private final Address receiver;
    private final Address sender;
    private final PeerCredentials credentials;
    private final Inbox inbox;
    /** Gets the frames on the event loop instead of the inbox, or null. */
    private final FrameHandler eventLoopHandler;
    private final FrameView view;
    private final Admission admission;
    private final Discards discards;
    /** The sender's counters, held from the hello's acceptance until the connection ends. */
    private final PeerCounters counters;
    private boolean counted;
    private final int maxFrameLength;
    /** The acknowledged stream this connection carries (protocol version 2), or null. */
    private final AckStream stream;
    /** The bytes of one small frame that a read cut short (or of a length field), copied; or null. */
    private ByteBuf partial;
    /** The large frame being put together from the reads that carry it, or null. */
    private FrameAssembly assembly;
    private boolean failed;
    /** A batch object to fill for the next read, handed back by the inbox or by the last walk here; or null. */
    private InboundBatch spare;
    /** The channel's read buffers if they carry a cut frame into the next read, else null. */
    private ReadBuffers reads;

    /** A decoder whose discarded frames are counted nowhere; for pipelines without a transport (tests, benchmarks). */
    FrameBatchDecoder(Address receiver, Address sender, PeerCredentials credentials, Inbox inbox, FrameHandler eventLoopHandler,
            int maxFrameLength, Admission admission) {
        this(receiver, sender, credentials, inbox, eventLoopHandler, maxFrameLength, admission, new Discards());
    }

    FrameBatchDecoder(Address receiver, Address sender, PeerCredentials credentials, Inbox inbox, FrameHandler eventLoopHandler,
            int maxFrameLength, Admission admission, Discards discards) {
        this(receiver, sender, credentials, inbox, eventLoopHandler, maxFrameLength, admission, discards, null);
    }

    /** A decoder of an acknowledged {@code stream} (protocol version 2), if not null. */
    FrameBatchDecoder(Address receiver, Address sender, PeerCredentials credentials, Inbox inbox, FrameHandler eventLoopHandler,
            int maxFrameLength, Admission admission, Discards discards, AckStream stream) {
        this.stream = stream;
        this.discards = discards;
        this.eventLoopHandler = eventLoopHandler;
        this.view = eventLoopHandler == null ? null : new FrameView();
        this.receiver = receiver;
        this.sender = sender;
        this.credentials = credentials;
        this.inbox = inbox;
        this.admission = admission;
        this.maxFrameLength = maxFrameLength;
        this.counters = admission.counters().inbound(sender);
        counters.opened();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        RecvByteBufAllocator allocator = ctx.channel().config().getRecvByteBufAllocator();
        reads = allocator instanceof ReadBuffers ? (ReadBuffers) allocator : null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (failed) {
                return;
            }
            int carried = 0;
            if (reads != null) {
                ByteBuf unclaimed = reads.unclaimed();
                if (unclaimed != null) { // this read did not come through the channel's read buffers
                    try {
                        keepCut(ctx, unclaimed, true);
                    } finally {
                        unclaimed.release();
                    }
                } else {
                    carried = reads.arrived(in);
                }
            }
            if (assembly != null && !continueAssembly(ctx, in)) {
                return;
            }
            if (partial != null && !completePartial(ctx, in)) {
                return;
            }
            if (in.isReadable()) {
                decodeWholeFrames(ctx, in, carried);
            }
        } finally {
            in.release();
            BusyConnection.readOn(ctx.channel(), !failed && (reads == null || reads.holding() == 0));
        }
    }

    /** Moves bytes from {@code in} into the partial frame; returns true once it was delivered. */
    private boolean completePartial(ChannelHandlerContext ctx, ByteBuf in) {
        if (partial.readableBytes() < HEADER) {
            partial.writeBytes(in, Math.min(HEADER - partial.readableBytes(), in.readableBytes()));
            if (partial.readableBytes() < HEADER) {
                return false;
            }
            long length = partial.getUnsignedInt(partial.readerIndex());
            if (length > maxFrameLength) {
                protocolError(ctx, length);
                return false;
            }
            if (length >= ASSEMBLE_THRESHOLD) {
                assembly = new FrameAssembly(ctx.alloc(), HEADER + (int) length);
                assembly.append(partial);
                partial.release();
                partial = null;
                return continueAssembly(ctx, in);
            }
            if (partial.capacity() < HEADER + length) {
                ByteBuf larger = ctx.alloc().directBuffer(HEADER + (int) length);
                larger.writeBytes(partial);
                partial.release();
                partial = larger;
            }
        }
        int frameLength = HEADER + (int) partial.getUnsignedInt(partial.readerIndex());
        partial.writeBytes(in, Math.min(frameLength - partial.readableBytes(), in.readableBytes()));
        if (partial.readableBytes() < frameLength) {
            return false;
        }
        ByteBuf complete = partial;
        partial = null;
        deliver(ctx, batch(complete, 1, complete.capacity()));
        return true;
    }

    /** Adds the next part of the large frame from {@code in}; returns true once it was delivered. */
    private boolean continueAssembly(ChannelHandlerContext ctx, ByteBuf in) {
        if (!assembly.append(in)) {
            return false;
        }
        long retained = assembly.retained();
        ByteBuf complete = assembly.take();
        assembly = null;
        deliver(ctx, batch(complete, 1, (int) Math.min(Integer.MAX_VALUE, retained)));
        return true;
    }

    /** Delivers the whole frames of {@code in}, whose first {@code carried} bytes were carried from the last read; keeps the cut one. */
    private void decodeWholeFrames(ChannelHandlerContext ctx, ByteBuf in, int carried) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        int position = start;
        int frames = 0;
        long badLength = -1;
        long address = Protocol.addressOf(in);
        while (end - position >= HEADER) {
            long length = Protocol.lengthAt(in, address, position);
            if (length > maxFrameLength) {
                badLength = length;
                break;
            }
            if (end - position - HEADER < length) {
                break;
            }
            position += HEADER + (int) length;
            frames++;
        }
        if (frames > 0) {
            deliver(ctx, batch(in.retainedSlice(start, position - start), frames, in.capacity()));
        }
        in.readerIndex(position);
        if (badLength >= 0) {
            protocolError(ctx, badLength);
            return;
        }
        if (position < end) {
            keepCut(ctx, in, position == start && carried > 0);
        }
    }

    /**
     * Keeps the readable bytes of {@code in}, the start of a frame that its read cut short, for the
     * next reads: carried to the front of the next read if the channel's read buffers can, the frame is
     * not too long, and it was not carried before ({@code carriedBefore}); else copied or assembled.
     */
    private void keepCut(ChannelHandlerContext ctx, ByteBuf in, boolean carriedBefore) {
        int rest = in.readableBytes();
        long cutLength = rest >= HEADER ? in.getUnsignedInt(in.readerIndex()) : -1;
        if (reads != null && !carriedBefore && (cutLength < 0 || HEADER + cutLength <= ReadBuffers.CARRY_LIMIT)) {
            reads.carry(in.readRetainedSlice(rest), cutLength >= 0 ? HEADER + (int) cutLength : HEADER);
        } else if (cutLength >= ASSEMBLE_THRESHOLD) {
            assembly = new FrameAssembly(ctx.alloc(), HEADER + (int) cutLength);
            assembly.append(in);
        } else {
            partial = ctx.alloc().directBuffer(cutLength >= 0 ? HEADER + (int) cutLength : HEADER);
            partial.writeBytes(in, rest);
        }
    }

    /** A batch of {@code frames} frames in {@code buffer}, in the spare object if there is one: a read allocates no batch. */
    private InboundBatch batch(ByteBuf buffer, int frames, int retainedCapacity) {
        InboundBatch batch = spare;
        spare = null;
        return batch == null ? new InboundBatch(sender, credentials, buffer, frames, retainedCapacity)
                : batch.reset(sender, credentials, buffer, frames, retainedCapacity);
    }

    /** Keeps a batch object that nobody else holds for the next read. */
    private void reuse(InboundBatch batch) {
        batch.clear();
        spare = batch;
    }

    private void deliver(ChannelHandlerContext ctx, InboundBatch batch) {
        counters.received(batch.frames, batch.buffer.readableBytes());
        if (discards.isDiscarding()) {
            // The transport is closing: read on to count what the sender had written, but hand nothing on.
            discards.add(sender, batch.frames);
            batch.buffer.release();
            reuse(batch);
            return;
        }
        if (stream != null) {
            long end = stream.received(ctx.channel(), batch.frames);
            if (end < 0) {
                batch.buffer.release(); // a newer connection of the stream took over, and its sender writes these there
                reuse(batch);
                return;
            }
            batch.stream = stream;
            batch.streamEnd = end;
        }
        if (eventLoopHandler == null) {
            spare = inbox.add(ctx.channel(), batch);
            return;
        }
        ByteBuf buffer = batch.buffer;
        try {
            view.batch(batch);
            int cursor = batch.cursor;
            for (int i = 0; i < batch.frames; i++) {
                if (discards.isDiscarding()) { // the handler closed the transport
                    discards.add(sender, batch.frames - i);
                    break;
                }
                int length = (int) Protocol.lengthAt(buffer, batch.address, cursor);
                view.frame(cursor + HEADER, length);
                try {
                    eventLoopHandler.onFrame(view);
                } catch (RuntimeException e) {
                    LOG.warn("event-loop handler of {} threw on a frame from {} ({}); the frame counts as handled", receiver, sender,
                            credentials, e);
                }
                cursor += HEADER + length;
            }
        } finally {
            view.clear();
            buffer.release();
        }
        if (stream != null && !discards.isDiscarding()) {
            stream.consumed(batch.streamEnd); // the handler returned for every frame of the batch
        }
        reuse(batch);
    }

    /** The protocol version of this connection's notices. */
    int version() {
        return stream != null ? ProtocolV2.VERSION : Protocol.VERSION;
    }

    private void protocolError(ChannelHandlerContext ctx, long length) {
        failed = true;
        admission.protocolError();
        counters.protocolError();
        releasePartial();
        String reason = "frame length " + length + " exceeds maxFrameLength " + maxFrameLength + " of " + receiver;
        LOG.warn("closing connection from {} ({}) to {}: {}", sender, credentials, receiver, reason);
        Jfr.protocolError(receiver, sender, credentials, true, reason);
        Protocol.sendNoticeAndClose(ctx, version(), Protocol.PROTOCOL_ERROR, reason);
    }

    /** Who sends on this connection, for log lines: address and credentials (pid, uid). */
    String peer() {
        return sender + " (" + credentials + ")";
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        int carriedBytes = reads != null ? reads.holding() : 0;
        boolean insideFrame = partial != null || assembly != null || carriedBytes > 0;
        Jfr.lost(receiver, sender, credentials, true, Jfr.NO_NOTICE, insideFrame
                ? "the sender's connection closed inside a frame" : "the sender closed its connection");
        if (insideFrame) {
            LOG.warn("connection from {} ({}) to {} closed inside a frame: {} bytes of it had arrived and are dropped",
                    sender, credentials, receiver, partial != null ? partial.readableBytes() : assembly != null ? assembly.received() : carriedBytes);
            counters.discarded(1);
            releasePartial();
        }
        countClosed();
        if (stream != null) {
            stream.detach(ctx.channel());
        }
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releasePartial();
        countClosed();
    }

    /** Counts the connection's end once, and lets the sender's record go. */
    private void countClosed() {
        if (!counted) {
            counted = true;
            counters.closed(!discards.isDiscarding());
            counters.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("closing connection from {} ({}) to {} after an error: {}", sender, credentials, receiver, cause.toString());
        ctx.close();
    }

    private void releasePartial() {
        if (reads != null) {
            reads.release();
        }
        if (partial != null) {
            partial.release();
            partial = null;
        }
        if (assembly != null) {
            assembly.release();
            assembly = null;
        }
    }
}
