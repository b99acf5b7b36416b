package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.FrameHandler;
import org.stagecrew.transport.PeerCredentials;

/**
 * The listening side of the hello exchange: reads the connector's hello, answers with a notice, and
 * on acceptance hands the channel on to an {@link AcceptAction}, which replaces this handler (bytes
 * that arrived behind the hello pass on to the handler that follows it); a version 2 hello of kind
 * STREAM carries an acknowledged stream, one of kind CONTROL is handed to a {@link ControlResponder}
 * instead. A hello that is malformed, of another version, or
 * not complete within the hello timeout gets a rejecting notice and the connection is closed.
 * Confined to the channel's event loop.
 */
final class HelloHandler extends ByteToMessageDecoder {
    private static final Logger LOG = LoggerFactory.getLogger(HelloHandler.class);

    /** What to do with a connection whose hello was accepted; must remove or replace {@code ctx.handler()}. */
    interface AcceptAction {
        void accepted(ChannelHandlerContext ctx, Address sender, PeerCredentials credentials);

        /** A version 2 STREAM connection was accepted (only where the handler was given {@link AckStreams}). */
        default void acceptedStream(ChannelHandlerContext ctx, Address sender, PeerCredentials credentials, AckStream stream) {
            accepted(ctx, sender, credentials);
        }
    }

    private final Address receiver;
    private final AcceptAction onAccepted;
    private final int maxFrameLength;
    private final long helloTimeoutNanos;
    private final Admission admission;
    /** The acknowledged streams of the transport (version 2 STREAM hellos), or null where only version 1 is spoken. */
    private final AckStreams streams;
    private PeerCredentials credentials;
    /** The connector's address, once its hello has been read that far. */
    private Address sender;
    private ScheduledFuture<?> timeout;
    private boolean done;

    /**
     * The listening side of a {@link org.stagecrew.transport.Transport}: frames go to {@code inbox}
     * in batches, or to {@code eventLoopHandler} on the event loop if it is not null.
     */
    static HelloHandler forInbox(Address receiver, Inbox inbox, FrameHandler eventLoopHandler, int maxFrameLength,
            long helloTimeoutNanos, Admission admission) {
        return forInbox(receiver, inbox, eventLoopHandler, maxFrameLength, helloTimeoutNanos, admission, new Discards());
    }

    /** As above, counting in {@code discards} what a closing transport throws away. */
    static HelloHandler forInbox(Address receiver, Inbox inbox, FrameHandler eventLoopHandler, int maxFrameLength,
            long helloTimeoutNanos, Admission admission, Discards discards) {
        return forInbox(receiver, inbox, eventLoopHandler, maxFrameLength, helloTimeoutNanos, admission, discards, null);
    }

    /** As above, serving version 2 STREAM connections (acknowledged delivery) with {@code streams} if not null. */
    static HelloHandler forInbox(Address receiver, Inbox inbox, FrameHandler eventLoopHandler, int maxFrameLength,
            long helloTimeoutNanos, Admission admission, Discards discards, AckStreams streams) {
        AcceptAction action = new AcceptAction() {
            @Override
            public void accepted(ChannelHandlerContext ctx, Address sender, PeerCredentials credentials) {
                acceptedStream(ctx, sender, credentials, null);
            }

            @Override
            public void acceptedStream(ChannelHandlerContext ctx, Address sender, PeerCredentials credentials, AckStream stream) {
                ctx.pipeline().replace(ctx.handler(), "frames", new FrameBatchDecoder(receiver, sender, credentials, inbox,
                        eventLoopHandler, maxFrameLength, admission, discards, stream));
            }
        };
        return new HelloHandler(receiver, action, maxFrameLength, helloTimeoutNanos, admission, streams);
    }

    HelloHandler(Address receiver, AcceptAction onAccepted, int maxFrameLength, long helloTimeoutNanos, Admission admission) {
        this(receiver, onAccepted, maxFrameLength, helloTimeoutNanos, admission, null);
    }

    HelloHandler(Address receiver, AcceptAction onAccepted, int maxFrameLength, long helloTimeoutNanos, Admission admission,
            AckStreams streams) {
        this.streams = streams;
        this.admission = admission;
        this.receiver = receiver;
        this.onAccepted = onAccepted;
        this.maxFrameLength = maxFrameLength;
        this.helloTimeoutNanos = helloTimeoutNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            admit(ctx);
        }
        timeout = ctx.executor().schedule(() -> {
            if (!done) {
                reject(ctx, Protocol.MALFORMED_HELLO, "no complete hello within "
                        + TimeUnit.NANOSECONDS.toMillis(helloTimeoutNanos) + " ms");
            }
        }, helloTimeoutNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        if (credentials == null && !done) {
            admit(ctx);
        }
        super.channelActive(ctx);
    }

    /** Reads the peer's credentials and refuses it now if the policy or the connection cap says so. */
    private void admit(ChannelHandlerContext ctx) {
        Admission.Verdict verdict = admission.judge(ctx.channel());
        credentials = verdict.credentials();
        if (!verdict.admitted()) {
            reject(ctx, verdict.code(), verdict.reason());
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        timeout.cancel(false);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int start = in.readerIndex();
        if (in.readableBytes() >= 4 && in.getInt(start) != Protocol.MAGIC) {
            reject(ctx, Protocol.MALFORMED_HELLO, String.format("bad magic 0x%08x, expected 0x%08x (\"SCRW\")",
                    in.getInt(start), Protocol.MAGIC));
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < Protocol.HELLO_HEADER_LENGTH) {
            return;
        }
        int version = in.getUnsignedByte(start + 4);
        if (version != Protocol.VERSION && version != Protocol.VERSION_2) {
            reject(ctx, Protocol.UNSUPPORTED_VERSION, "protocol version " + version + " is not supported; this endpoint speaks "
                    + Protocol.VERSION + " and " + Protocol.VERSION_2);
            in.skipBytes(in.readableBytes());
            return;
        }
        int addressLength = in.getUnsignedShort(start + Protocol.HELLO_ADDRESS_LENGTH_OFFSET);
        if (addressLength == 0 || addressLength > Protocol.MAX_HELLO_ADDRESS_LENGTH) {
            reject(ctx, version, Protocol.MALFORMED_HELLO, "hello address length " + addressLength + " is outside 1.."
                    + Protocol.MAX_HELLO_ADDRESS_LENGTH);
            in.skipBytes(in.readableBytes());
            return;
        }
        int end = Protocol.HELLO_HEADER_LENGTH + addressLength + (version == Protocol.VERSION_2 ? Protocol.HELLO_KIND_LENGTH : 0);
        if (in.readableBytes() < end) {
            return;
        }
        try {
            sender = Protocol.decodeAddress(in, start + Protocol.HELLO_HEADER_LENGTH, addressLength);
        } catch (IllegalArgumentException e) {
            reject(ctx, version, Protocol.MALFORMED_HELLO, "invalid sender address: " + e.getMessage());
            in.skipBytes(in.readableBytes());
            return;
        }
        int kind = version == Protocol.VERSION_2 ? in.getUnsignedByte(start + end - Protocol.HELLO_KIND_LENGTH) : -1;
        switch (kind) {
            case -1: // version 1: no kind, a data connection
            case Protocol.KIND_CONTROL:
                break;
            case ProtocolV2.KIND_STREAM:
                if (streams == null) {
                    reject(ctx, version, Protocol.UNSUPPORTED_VERSION, "hello kind 0 (STREAM, acknowledged delivery) is not"
                            + " served by this endpoint; it speaks protocol 1 for data and 2 for CONTROL only");
                    in.skipBytes(in.readableBytes());
                    return;
                }
                end += ProtocolV2.STREAM_FIELDS_LENGTH;
                if (in.readableBytes() < end) {
                    return;
                }
                break;
            default:
                reject(ctx, version, Protocol.MALFORMED_HELLO, "hello kind " + kind + " is not known; this endpoint knows "
                        + ProtocolV2.KIND_STREAM + " (STREAM) and " + Protocol.KIND_CONTROL + " (CONTROL)");
                in.skipBytes(in.readableBytes());
                return;
        }
        if (kind == Protocol.KIND_CONTROL) {
            in.skipBytes(end);
            acceptControl(ctx);
            return;
        }
        done = true;
        admission.accepted();
        Jfr.established(receiver, sender, credentials, true);
        if (version == Protocol.VERSION) {
            in.skipBytes(end);
            ctx.writeAndFlush(Protocol.encodeAccept(ctx.alloc(), maxFrameLength), ctx.voidPromise());
            onAccepted.accepted(ctx, sender, credentials);
            return;
        }
        // Version 2, kind STREAM: the sender's stream and its oldest unacknowledged frame.
        int fields = start + Protocol.HELLO_HEADER_LENGTH + addressLength + Protocol.HELLO_KIND_LENGTH;
        long streamIncarnation = in.getLong(fields);
        long firstSequence = in.getLong(fields + 8);
        in.skipBytes(end);
        AckStream stream = streams.attach(sender, streamIncarnation, firstSequence, ctx.channel());
        ctx.writeAndFlush(ProtocolV2.encodeStreamAccept(ctx.alloc(), maxFrameLength, streams.incarnation(), stream.resume()),
                ctx.voidPromise());
        onAccepted.acceptedStream(ctx, sender, credentials, stream);
    }

    /** A CONTROL connection: its pings are answered here, by a {@link ControlResponder}; nothing reaches the application. */
    private void acceptControl(ChannelHandlerContext ctx) {
        done = true;
        admission.accepted();
        LOG.debug("accepted control connection to {} from {} ({})", receiver, sender, credentials);
        ctx.writeAndFlush(Protocol.encodeAccept(ctx.alloc(), Protocol.VERSION_2, Protocol.PING_LENGTH), ctx.voidPromise());
        ctx.pipeline().replace(ctx.handler(), "control", new ControlResponder(receiver, sender, credentials));
    }

    private void reject(ChannelHandlerContext ctx, int code, String reason) {
        reject(ctx, Protocol.VERSION, code, reason);
    }

    private void reject(ChannelHandlerContext ctx, int version, int code, String reason) {
        if (done) {
            return;
        }
        done = true;
        admission.rejected(code);
        LOG.warn("rejected connection to {} from {} ({}) ({}): {}", receiver, sender != null ? sender : "a peer before its hello",
                credentials, Protocol.codeName(code), reason);
        Jfr.refused(receiver, sender, credentials, true, code, reason);
        Protocol.sendNoticeAndClose(ctx, version, code, reason);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.warn("closing connection to {} from {} ({}) during hello after an error: {}", receiver,
                sender != null ? sender : "a peer before its hello", credentials, cause.toString());
        ctx.close();
    }
}
