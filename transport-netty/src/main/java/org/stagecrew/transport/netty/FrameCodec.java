package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * The stagecrew wire protocol (see PROTOCOL.md) as handlers for a pipeline of your own, with or
 * without a {@link org.stagecrew.transport.Transport}: a peer built from these talks to transports.
 *
 * <p>A listening pipeline: {@link #listenerHello}, then {@link #decoder}, then your handlers, which
 * get one {@link ByteBuf} per frame (release it) after a {@link HelloReceived} user event that names
 * the sender. A connecting pipeline: {@link #connectorHello} and {@link #encoder}; write one {@code
 * ByteBuf} per frame. Frames may be written at once; a rejection fails the channel with a {@link
 * org.stagecrew.transport.PeerRejectedException} through {@code exceptionCaught} and closes it, an
 * acceptance fires {@link HelloAccepted}.
 *
 * <pre>{@code
 * server.childHandler(new ChannelInitializer<Channel>() {
 *     protected void initChannel(Channel ch) {
 *         ch.pipeline().addLast(FrameCodec.listenerHello(self, maxFrameLength, Duration.ofSeconds(5)),
 *                 FrameCodec.decoder(maxFrameLength), new MyFrameHandler());
 *     }
 * });
 * }</pre>
 */
public final class FrameCodec {
    private static final ChannelHandler ENCODER = new FrameEncoder();

    private FrameCodec() {
    }

    /** Fired on a listening pipeline once a connector's hello is accepted, with its kernel-verified credentials. */
    public record HelloReceived(Address sender, PeerCredentials credentials) {
    }

    /** Fired on a connecting pipeline once the listener accepted our hello. */
    public record HelloAccepted(Address listener, long maxFrameLength) {
    }

    /**
     * Returns the (sharable) encoder that writes each outbound {@code ByteBuf} as one frame: a
     * 4-byte length written before the payload, without copying it.
     */
    public static ChannelHandler encoder() {
        return ENCODER;
    }

    /**
     * Returns a new decoder that emits one {@code ByteBuf} payload per frame (the receiver releases
     * it). A length above {@code maxFrameLength} is a protocol error, as PROTOCOL.md says: the
     * frames before it are emitted, a {@code PROTOCOL_ERROR} notice with the reason is sent, a
     * {@link ProtocolException} naming both lengths goes through {@code exceptionCaught}, and the
     * channel is closed.
     */
    public static ChannelHandler decoder(int maxFrameLength) {
        checkMaxFrameLength(maxFrameLength);
        return new FrameDecoder(maxFrameLength);
    }

    /**
     * Returns a new handler for the listening side of the hello exchange. It answers the hello,
     * rejecting a bad one with its reason, fires {@link HelloReceived} and removes itself.
     *
     * @param self the listening address, for log messages
     * @param maxFrameLength the maximum payload this side accepts, announced to the connector
     * @param helloTimeout time the connector has to complete its hello
     */
    public static ChannelHandler listenerHello(Address self, int maxFrameLength, Duration helloTimeout) {
        Objects.requireNonNull(self, "self");
        checkMaxFrameLength(maxFrameLength);
        return new HelloHandler(self, (ctx, sender, credentials) -> {
            ctx.fireUserEventTriggered(new HelloReceived(sender, credentials));
            ctx.pipeline().remove(ctx.handler());
        }, maxFrameLength, Objects.requireNonNull(helloTimeout, "helloTimeout").toNanos(), Admission.OPEN);
    }

    /**
     * Returns a new handler for the connecting side: sends our hello when the channel becomes
     * active, fires {@link HelloAccepted} on acceptance, and on rejection (or a closing notice)
     * fires the {@link TransportException} through {@code exceptionCaught} and closes the channel.
     *
     * @param self our own listening address, which the listener will attribute our frames to
     * @param listener the address we connect to, for messages
     */
    public static ChannelHandler connectorHello(Address self, Address listener) {
        Objects.requireNonNull(self, "self");
        Objects.requireNonNull(listener, "listener");
        return new NoticeDecoder(new NoticeDecoder.Listener() {
            private boolean failed;

            private boolean accepted;

            @Override
            public void onAccepted(ChannelHandlerContext ctx, long peerMaxFrameLength) {
                if (accepted) {
                    onFailure(ctx, new ProtocolException("connect to " + listener + " failed: the listener accepted the connection twice"));
                    return;
                }
                accepted = true;
                ctx.fireUserEventTriggered(new HelloAccepted(listener, peerMaxFrameLength));
            }

            @Override
            public void onFailure(ChannelHandlerContext ctx, TransportException cause) {
                // After acceptance a plain close is the normal end of a connection; before it, a failure.
                if (!failed && (!accepted || ctx.channel().isActive())) {
                    failed = true;
                    ctx.fireExceptionCaught(cause);
                    ctx.close();
                }
            }
        }, self, listener);
    }

    private static void checkMaxFrameLength(int maxFrameLength) {
        if (maxFrameLength < 0 || maxFrameLength > TransportConfig.MAX_FRAME_LENGTH_LIMIT) {
            throw new IllegalArgumentException("maxFrameLength must be between 0 and "
                    + TransportConfig.MAX_FRAME_LENGTH_LIMIT + ", was: " + maxFrameLength);
        }
    }

    /** One payload per frame, as a retained slice of the cumulation; refuses over-long frames. */
    private static final class FrameDecoder extends ByteToMessageDecoder {
        private final int maxFrameLength;

        FrameDecoder(int maxFrameLength) {
            this.maxFrameLength = maxFrameLength;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            while (in.readableBytes() >= Protocol.LENGTH_FIELD_LENGTH) {
                long length = in.getUnsignedInt(in.readerIndex());
                if (length > maxFrameLength) {
                    if (!out.isEmpty()) {
                        return; // the frames before it go up the pipeline first; we are called again
                    }
                    in.skipBytes(in.readableBytes());
                    String reason = "frame length " + length + " exceeds maxFrameLength " + maxFrameLength;
                    Protocol.sendNoticeAndClose(ctx, Protocol.PROTOCOL_ERROR, reason);
                    ctx.fireExceptionCaught(new ProtocolException("closing connection " + ctx.channel() + ": " + reason));
                    return;
                }
                if (in.readableBytes() - Protocol.LENGTH_FIELD_LENGTH < length) {
                    return;
                }
                in.skipBytes(Protocol.LENGTH_FIELD_LENGTH);
                out.add(in.readRetainedSlice((int) length));
            }
        }
    }

    /** Writes the length, then the caller's buffer itself: two buffers, no copy of the payload. */
    @ChannelHandler.Sharable
    private static final class FrameEncoder extends MessageToMessageEncoder<ByteBuf> {
        FrameEncoder() {
            super(ByteBuf.class);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf payload, List<Object> out) {
            out.add(ctx.alloc().directBuffer(Protocol.LENGTH_FIELD_LENGTH).writeInt(payload.readableBytes()));
            out.add(payload.retain());
        }
    }
}
