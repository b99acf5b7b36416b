package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
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
 * The connecting side of a CONTROL connection: sends the version 2 CONTROL hello when the channel
 * becomes active, then reads the listener's notices: one {@code ACCEPTED}, then any number of
 * {@code PONG}s (detail: the 8 bytes of the PING answered), and at most one last non-zero notice.
 * Reports them to a {@link Listener}; the end of the connection exactly once. The version byte of a
 * notice is not checked: a version 1 listener answers our hello in its own version
 * ({@code UNSUPPORTED_VERSION}). Confined to the channel's event loop.
 */
final class ControlReplyDecoder extends ByteToMessageDecoder {

    /** Told what the listener answered; every method runs on the channel's event loop. */
    interface Listener {
        void onAccepted();

        void onPong(long nonce);

        /** Once: the connection ended, or must end, for {@code cause}. */
        void onEnd(TransportException cause);
    }

    private final Listener listener;
    private final Address self;
    private final Address peer;
    private boolean accepted;
    private boolean ended;

    ControlReplyDecoder(Listener listener, Address self, Address peer) {
        this.listener = listener;
        this.self = self;
        this.peer = peer;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.writeAndFlush(Protocol.encodeControlHello(ctx.alloc(), self));
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!ended && in.readableBytes() >= 4) {
            int start = in.readerIndex();
            int magic = in.getInt(start);
            if (magic != Protocol.MAGIC) {
                end(ctx, new ProtocolException("control connection to " + peer + " failed: the listener is not a stagecrew"
                        + " transport (answered magic " + String.format("0x%08x", magic) + ")"));
                break;
            }
            if (in.readableBytes() < Protocol.NOTICE_HEADER_LENGTH) {
                return;
            }
            int detailLength = in.getUnsignedShort(start + Protocol.NOTICE_REASON_LENGTH_OFFSET);
            if (detailLength > Protocol.MAX_REASON_LENGTH) {
                end(ctx, new ProtocolException("control connection to " + peer + " failed: a notice states a detail of "
                        + detailLength + " bytes, above the protocol's maximum of " + Protocol.MAX_REASON_LENGTH));
                break;
            }
            if (in.readableBytes() < Protocol.NOTICE_HEADER_LENGTH + detailLength) {
                return;
            }
            int code = in.getUnsignedByte(start + Protocol.NOTICE_CODE_OFFSET);
            int detail = start + Protocol.NOTICE_HEADER_LENGTH;
            switch (code) {
                case Protocol.ACCEPTED:
                    if (accepted) {
                        end(ctx, broken("accepted the connection twice"));
                    } else {
                        accepted = true;
                        listener.onAccepted();
                    }
                    break;
                case Protocol.PONG:
                    if (!accepted || detailLength != Protocol.PING_LENGTH) {
                        end(ctx, broken(accepted ? "sent a PONG of " + detailLength + " bytes, not " + Protocol.PING_LENGTH
                                : "sent a PONG before ACCEPTED"));
                    } else {
                        listener.onPong(in.getLong(detail));
                    }
                    break;
                default: // the listener's last word
                    end(ctx, lastWord(code, in.toString(detail, detailLength, StandardCharsets.UTF_8)));
                    break;
            }
            if (!ended) {
                in.skipBytes(Protocol.NOTICE_HEADER_LENGTH + detailLength);
            }
        }
        if (ended) {
            in.skipBytes(in.readableBytes()); // nothing after the last word means anything
        }
    }

    private ProtocolException broken(String what) {
        return new ProtocolException("control connection to " + peer + " failed: the listener " + what);
    }

    private TransportException lastWord(int code, String reason) {
        if (code == Protocol.SHUTTING_DOWN) {
            return new TransportClosedException("control connection to " + peer + " ended: the peer is closing its transport ("
                    + reason + ")");
        }
        return new PeerRejectedException(peer, code, Protocol.codeName(code), reason);
    }

    private void end(ChannelHandlerContext ctx, TransportException cause) {
        if (ended) {
            return;
        }
        ended = true;
        listener.onEnd(cause);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        super.channelInactive(ctx); // decodes a notice still buffered, whose reason then wins
        end(ctx, Failures.peerDied(peer, "end of stream", null));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        end(ctx, Failures.connectionLost(peer, cause));
    }
}
