package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

/**
 * The connecting side of the hello exchange: sends our hello when the channel becomes active and
 * reports the listener's notices (the answer, and any last word before it closes) to a
 * {@link Listener}. Confined to the channel's event loop.
 */
final class NoticeDecoder extends ByteToMessageDecoder {

    /** Told what the listener answered; every method runs on the channel's event loop. */
    interface Listener {
        /** The listener accepted the hello and takes payloads up to {@code peerMaxFrameLength}. */
        void onAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength);

        /** The connection failed: rejected, closed, or the peer broke the protocol. First cause wins. */
        void onFailure(ChannelHandlerContext ctx, TransportException cause);

        /** The channel's writability changed. */
        default void onWritabilityChanged(ChannelHandlerContext ctx) {
        }

        /** The hello to send: version 1 unless the listener wants another. */
        default ByteBuf hello(ByteBufAllocator alloc, Address self) {
            return Protocol.encodeHello(alloc, self);
        }

        /**
         * A version 2 ACCEPTED of a STREAM connection: the listener's incarnation, and the sequence
         * number of the first frame to write now.
         */
        default void onStreamAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength, long listenerIncarnation, long resume) {
            onAccepted(ctx, peerMaxFrameLength);
        }

        /**
         * A version 2 ACK: every frame numbered below {@code acknowledged} was handed to the
         * listener's application. Returns false (the default) if this is no acknowledged stream: the
         * ACK then breaks the protocol.
         */
        default boolean onAck(ChannelHandlerContext ctx, long acknowledged) {
            return false;
        }
    }

    private final Listener listener;
    private final Address self;
    private final Address peer;
    /** After a refusing or closing notice, or a broken one: the rest is discarded. */
    private boolean finished;
    /** For the JFR events: whether the listener accepted us, and whether the end of the connection was reported. */
    private boolean accepted;
    private boolean endReported;

    NoticeDecoder(Listener listener, Address self, Address peer) {
        this.listener = listener;
        this.self = self;
        this.peer = peer;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        // A listener that refuses us may answer and close before our hello is written; the write then
        // fails, but the answer (read next) or the close says why, so the failed write is not the news.
        ctx.writeAndFlush(listener.hello(ctx.alloc(), self));
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (finished) {
            in.skipBytes(in.readableBytes()); // the listener's last word was said: what follows it means nothing
            return;
        }
        while (in.readableBytes() >= 4) {
            int start = in.readerIndex();
            int magic = in.getInt(start);
            if (magic != Protocol.MAGIC) {
                finished = true;
                in.skipBytes(in.readableBytes());
                ProtocolException e = new ProtocolException("connect to " + peer
                        + " failed: the listener is not a stagecrew transport (answered magic "
                        + String.format("0x%08x", magic) + ")");
                protocolError(e);
                listener.onFailure(ctx, e);
                return;
            }
            if (in.readableBytes() < Protocol.NOTICE_HEADER_LENGTH) {
                return;
            }
            int detailLength = in.getUnsignedShort(start + Protocol.NOTICE_REASON_LENGTH_OFFSET);
            if (detailLength > Protocol.MAX_REASON_LENGTH) {
                finished = true;
                in.skipBytes(in.readableBytes());
                ProtocolException e = new ProtocolException("connect to " + peer + " failed: the listener's notice states a detail of "
                        + detailLength + " bytes, above the protocol's maximum of " + Protocol.MAX_REASON_LENGTH);
                protocolError(e);
                listener.onFailure(ctx, e);
                return;
            }
            if (in.readableBytes() < Protocol.NOTICE_HEADER_LENGTH + detailLength) {
                return;
            }
            int version = in.getUnsignedByte(start + 4);
            int code = in.getUnsignedByte(start + Protocol.NOTICE_CODE_OFFSET);
            int detail = start + Protocol.NOTICE_HEADER_LENGTH;
            switch (code) {
                case Protocol.ACCEPTED:
                    if (!accepted) {
                        accepted = true;
                        Jfr.established(self, peer, null, false);
                    }
                    // A peer that does not state its maximum gets frames up to any length.
                    long max = detailLength >= Protocol.ACCEPT_DETAIL_LENGTH ? in.getUnsignedInt(detail) : Long.MAX_VALUE;
                    if (version == ProtocolV2.VERSION && detailLength >= ProtocolV2.STREAM_ACCEPT_DETAIL_LENGTH) {
                        listener.onStreamAccepted(ctx, max, in.getLong(detail + 4), in.getLong(detail + 12));
                    } else {
                        listener.onAccepted(ctx, max);
                    }
                    break;
                case Protocol.ACK:
                    if (version == ProtocolV2.VERSION && detailLength == ProtocolV2.ACK_DETAIL_LENGTH
                            && listener.onAck(ctx, in.getLong(detail))) {
                        break;
                    }
                    finished = true;
                    in.skipBytes(in.readableBytes());
                    ProtocolException badAck = new ProtocolException("send to " + peer + " failed: the listener sent an ACK notice"
                            + " (version " + version + ", " + detailLength + " detail bytes) on a connection that is not an"
                            + " acknowledged stream of version 2, or of another length than 8 bytes");
                    protocolError(badAck);
                    listener.onFailure(ctx, badAck);
                    return;
                default:
                    // Any other code is the listener's last notice (PROTOCOL.md): nothing after it is read.
                    finished = true;
                    String reason = in.toString(detail, detailLength, StandardCharsets.UTF_8);
                    in.skipBytes(in.readableBytes());
                    ended(code, reason);
                    listener.onFailure(ctx, rejection(code, reason));
                    return;
            }
            in.skipBytes(Protocol.NOTICE_HEADER_LENGTH + detailLength);
        }
    }

    /** Records the end of the connection once: refused if it was never accepted, else lost. */
    private void ended(int code, String reason) {
        if (endReported) {
            return;
        }
        endReported = true;
        if (accepted) {
            Jfr.lost(self, peer, null, false, code, reason);
        } else if (code != Jfr.NO_NOTICE) {
            Jfr.refused(self, peer, null, false, code, reason);
        }
    }

    private void protocolError(ProtocolException e) {
        Jfr.protocolError(self, peer, null, false, e.getMessage());
        ended(Jfr.NO_NOTICE, e.getMessage());
    }

    private TransportException rejection(int code, String reason) {
        if (code == Protocol.SHUTTING_DOWN) {
            return new TransportClosedException("send to " + peer + " failed: the destination is closing (" + reason + ")");
        }
        return new PeerRejectedException(peer, code, Protocol.codeName(code), reason);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        listener.onWritabilityChanged(ctx);
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        super.channelInactive(ctx); // decodes a notice still buffered, whose reason then wins
        ended(Jfr.NO_NOTICE, "end of stream");
        // No notice came first (a notice's reason would have won): the peer's process is gone.
        listener.onFailure(ctx, Failures.peerDied(peer, "end of stream", null));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ended(Jfr.NO_NOTICE, cause.toString());
        listener.onFailure(ctx, Failures.connectionLost(peer, cause));
        ctx.close();
    }
}
