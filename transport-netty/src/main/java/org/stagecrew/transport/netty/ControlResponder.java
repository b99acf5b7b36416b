package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;

/**
 * The listening side of an accepted CONTROL connection (hello version 2, kind 1): answers every
 * PING (a data frame of exactly 8 bytes) with a PONG notice carrying the same 8 bytes, one flush
 * per read. Nothing reaches the application. Any other frame length is a protocol error: a
 * PROTOCOL_ERROR notice, and the connection is closed. Confined to the channel's event loop.
 */
final class ControlResponder extends ByteToMessageDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(ControlResponder.class);
    private static final int PING_FRAME_LENGTH = Protocol.LENGTH_FIELD_LENGTH + Protocol.PING_LENGTH;

    private final Address receiver;
    private final Address sender;
    private final PeerCredentials credentials;
    private boolean failed;

    ControlResponder(Address receiver, Address sender, PeerCredentials credentials) {
        this.receiver = receiver;
        this.sender = sender;
        this.credentials = credentials;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes()); // our last word was said
            return;
        }
        boolean answered = false;
        while (in.readableBytes() >= Protocol.LENGTH_FIELD_LENGTH) {
            long length = in.getUnsignedInt(in.readerIndex());
            if (length != Protocol.PING_LENGTH) {
                failed = true;
                in.skipBytes(in.readableBytes());
                String reason = "a control frame of " + length + " bytes; a PING is " + Protocol.PING_LENGTH
                        + " bytes (a u64 nonce)";
                LOG.warn("closing control connection from {} ({}) to {}: {}", sender, credentials, receiver, reason);
                Jfr.protocolError(receiver, sender, credentials, true, reason);
                if (answered) {
                    ctx.flush();
                }
                Protocol.sendNoticeAndClose(ctx, Protocol.VERSION_2, Protocol.PROTOCOL_ERROR, reason);
                return;
            }
            if (in.readableBytes() < PING_FRAME_LENGTH) {
                break;
            }
            long nonce = in.getLong(in.readerIndex() + Protocol.LENGTH_FIELD_LENGTH);
            in.skipBytes(PING_FRAME_LENGTH);
            ctx.write(Protocol.encodePong(ctx.alloc(), nonce), ctx.voidPromise());
            answered = true;
        }
        if (answered) {
            ctx.flush();
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false); // a peer that does not read its pongs gets no more: memory stays bounded
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(true);
        }
        super.channelWritabilityChanged(ctx);
    }

    /** For the close sequence: who is on the other end, for its log lines. */
    String peer() {
        return sender + " (" + credentials + ")";
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("closing control connection from {} ({}) to {} after an error: {}", sender, credentials, receiver, cause.toString());
        ctx.close();
    }
}
