package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

/**
 * The connecting side of the hello exchange: sends our hello when the channel becomes active and
 * reports the listener's notices, the answer and any last word before it closes, to the
 * {@link OutboundConnection}. Confined to the channel's event loop.
 */
final class NoticeDecoder extends ByteToMessageDecoder {
    private final OutboundConnection connection;
    private final Address self;

    NoticeDecoder(OutboundConnection connection, Address self) {
        this.connection = connection;
        this.self = self;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.writeAndFlush(Protocol.encodeHello(ctx.alloc(), self), ctx.voidPromise());
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.readableBytes() >= 4) {
            int start = in.readerIndex();
            int magic = in.getInt(start);
            if (magic != Protocol.MAGIC) {
                in.skipBytes(in.readableBytes());
                connection.onFailure(new ProtocolException("connect to " + connection.destination()
                        + " failed: the listener is not a stagecrew transport (answered magic "
                        + String.format("0x%08x", magic) + ")"));
                return;
            }
            if (in.readableBytes() < Protocol.NOTICE_HEADER_LENGTH) {
                return;
            }
            int reasonLength = in.getUnsignedShort(start + Protocol.NOTICE_REASON_LENGTH_OFFSET);
            if (in.readableBytes() < Protocol.NOTICE_HEADER_LENGTH + reasonLength) {
                return;
            }
            int code = in.getUnsignedByte(start + Protocol.NOTICE_CODE_OFFSET);
            int detail = start + Protocol.NOTICE_HEADER_LENGTH;
            if (code == Protocol.ACCEPTED) {
                // A peer that does not state its maximum gets frames up to any length.
                connection.onAccepted(reasonLength >= Protocol.ACCEPT_DETAIL_LENGTH ? in.getUnsignedInt(detail) : Long.MAX_VALUE);
            } else {
                connection.onRejected(code, in.toString(detail, reasonLength, StandardCharsets.UTF_8));
            }
            in.skipBytes(Protocol.NOTICE_HEADER_LENGTH + reasonLength);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        connection.onWritabilityChanged();
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        connection.onFailure(new TransportClosedException("send to " + connection.destination()
                + " failed: the connection was closed by the peer"));
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        connection.onFailure(new TransportException("send to " + connection.destination() + " failed: " + cause, cause));
        ctx.close();
    }
}
