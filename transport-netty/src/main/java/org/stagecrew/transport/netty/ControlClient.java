package org.stagecrew.transport.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ConnectionRefusedException;
import org.stagecrew.transport.ControlConnection;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.UnknownAddressException;

/**
 * A {@link ControlConnection} without a transport: one channel on a small shared event loop group
 * (one daemon thread, created on first use, in the {@link IoMode#AUTO} mode), a {@link
 * ControlReplyDecoder} in its pipeline, and the PINGs waiting for their PONGs. Thread-safe.
 */
final class ControlClient implements ControlConnection, ControlReplyDecoder.Listener {

    /** The shared group, created on first use. */
    private static final class Loops {
        static final IoBackend BACKEND = IoBackend.forMode(IoMode.AUTO);
        static final EventLoopGroup GROUP = EventLoops.newGroup(BACKEND, 1, new DefaultThreadFactory("stagecrew-control", true), false);
    }

    private final Address peer;
    private final CompletableFuture<ControlConnection> accepted = new CompletableFuture<>();
    private final CompletableFuture<TransportException> ended = new CompletableFuture<>();
    /** PINGs sent and not yet answered, by nonce, each with the time its answer came. */
    private final Map<Long, CompletableFuture<Long>> pending = new ConcurrentHashMap<>();
    private final AtomicLong nonces = new AtomicLong();
    private volatile Channel channel;

    private ControlClient(Address peer) {
        this.peer = peer;
    }

    /**
     * Connects to {@code peer} and says the CONTROL hello; the future completes when the peer accepted
     * it, or fails with why (see {@link NettyTransports#connectControl}) within {@code timeout}.
     */
    static CompletableFuture<ControlConnection> connect(Address peer, Duration timeout) {
        ControlClient client = new ControlClient(peer);
        long millis = Math.max(1, timeout.toMillis());
        IoBackend backend = Loops.BACKEND;
        Bootstrap bootstrap = new Bootstrap().group(Loops.GROUP).channel(backend.channelType())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, millis))
                .handler(new ControlReplyDecoder(client, connectorName(peer), peer));
        ChannelFuture connected;
        try {
            connected = bootstrap.connect(backend.socketAddress(peer));
        } catch (TransportException e) {
            client.onEnd(e);
            return client.accepted;
        }
        client.channel = connected.channel();
        connected.addListener(f -> {
            if (!f.isSuccess()) {
                client.onEnd(connectFailed(peer, f.cause()));
            }
        });
        connected.channel().eventLoop().schedule(() -> {
            if (!client.accepted.isDone()) {
                client.onEnd(new TransportTimeoutException("control connection to " + peer + " failed: no answer to the hello"
                        + " within " + millis + " ms; is the peer's process stopped (SIGSTOP) or busy?"));
            }
        }, millis, TimeUnit.MILLISECONDS);
        return client.accepted;
    }

    /** The name a CONTROL hello gives for us, for the peer's logs: it is not bound, and the listener never connects to it. */
    static Address connectorName(Address peer) {
        String name = "stagecrew-control-" + ProcessHandle.current().pid();
        return peer.isAbstract() ? Address.abstractName(name) : Address.of("/" + name);
    }

    private static TransportException connectFailed(Address peer, Throwable cause) {
        String prefix = "control connection to " + peer + " failed: ";
        if (!peer.isAbstract() && !Files.exists(peer.toPath(), LinkOption.NOFOLLOW_LINKS)) {
            return new UnknownAddressException(prefix + "no socket file exists at that path; is the address right and its"
                    + " owner started? ('stagecrew ls' lists the endpoints of a directory)", cause);
        }
        TransportException typed = Failures.connectFailed(peer, !peer.isAbstract(), cause);
        if (typed instanceof ConnectionRefusedException) {
            return new ConnectionRefusedException(prefix + "connection refused: the socket file exists but nothing listens"
                    + " on it (stale: its owner died; 'stagecrew clean' removes it)", cause);
        }
        return typed;
    }

    @Override
    public Address peer() {
        return peer;
    }

    @Override
    public Duration ping(Duration timeout) {
        TransportException end = ended.getNow(null);
        if (end != null) {
            throw end;
        }
        long nonce = nonces.incrementAndGet();
        CompletableFuture<Long> pong = new CompletableFuture<>();
        pending.put(nonce, pong);
        try {
            Channel ch = channel;
            long sent = System.nanoTime();
            ch.writeAndFlush(Protocol.encodePing(ch.alloc(), nonce));
            if (ended.isDone()) { // ended between the check and the put: onEnd may have missed this one
                throw ended.getNow(null);
            }
            long answered = pong.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return Duration.ofNanos(Math.max(0, answered - sent));
        } catch (TimeoutException e) {
            throw new TransportTimeoutException("ping of " + peer + ": no PONG within " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw (TransportException) e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("ping of " + peer + " was interrupted", e);
        } finally {
            pending.remove(nonce);
        }
    }

    @Override
    public CompletableFuture<TransportException> ended() {
        return ended;
    }

    @Override
    public void close() {
        onEnd(new TransportClosedException("control connection to " + peer + " was closed by this side"));
    }

    // ---- ControlReplyDecoder.Listener: on the event loop ----

    @Override
    public void onAccepted() {
        accepted.complete(this);
    }

    @Override
    public void onPong(long nonce) {
        CompletableFuture<Long> pong = pending.get(nonce);
        if (pong != null) { // else answered after its ping's timeout: ignored
            pong.complete(System.nanoTime());
        }
    }

    @Override
    public void onEnd(TransportException cause) {
        if (!ended.complete(cause)) {
            return;
        }
        accepted.completeExceptionally(cause);
        for (CompletableFuture<Long> pong : pending.values()) {
            pong.completeExceptionally(cause);
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }
}
