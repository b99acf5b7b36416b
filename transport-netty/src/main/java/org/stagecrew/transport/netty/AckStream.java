package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.stagecrew.transport.Address;

/**
 * One sender's acknowledged stream as this listener incarnation sees it: the number of the next
 * frame it expects ({@code received}), the number below which the application has consumed every
 * frame ({@code consumed}), and the one connection frames are taken from.
 *
 * <p>Deduplication: a reconnecting sender is told to resume at {@code received}, so it never
 * writes again what this incarnation already holds; and a connection replaced by a newer one of the
 * same stream hands nothing more on (its sender writes those frames again on the newer one).
 *
 * <p>Acknowledgement: when a consumer finishes a batch ({@link #consumed}), one task on the
 * connection's event loop sends a single cumulative ACK with the highest number reached; batches
 * consumed before it runs share it, and ACKs of one stream are at least 1 ms apart. So there is at
 * most one ACK per consumed batch and per millisecond, never one per frame. What is consumed once the transport is closing is not counted (it is what the close
 * discards); what was consumed before is still acknowledged, ahead of the close's SHUTTING_DOWN
 * notice, which the event loop writes after the ACK task. Thread-safe.
 */
final class AckStream {
    /** The shortest time between two ACKs of one stream: 1 ms, so at most 1000 ACKs a second, each for many frames. */
    static final long MIN_ACK_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final AckStreams owner;
    private final Address sender;
    private final long incarnation;
    private final AtomicBoolean ackScheduled = new AtomicBoolean();
    private final Runnable sendAck = this::sendAck;
    // Guarded by this.
    private Channel channel;
    private long received;
    private long consumed;
    /** The highest number acknowledged on {@link #channel}, or that its sender knew of when it connected. */
    private long acknowledged;
    private boolean started;
    /** When the last ACK went out, and whether one did: ACKs of one stream are at least {@link #MIN_ACK_INTERVAL_NANOS} apart. */
    private long lastAckNanos;
    private boolean sentAny;

    AckStream(AckStreams owner, Address sender, long incarnation) {
        this.owner = owner;
        this.sender = sender;
        this.incarnation = incarnation;
    }

    long incarnation() {
        return incarnation;
    }

    Address sender() {
        return sender;
    }

    synchronized void attach(Channel ch, long firstSequence) {
        if (!started || received < firstSequence) {
            // A new stream, or one whose sender holds acknowledgements we never gave (impossible unless state was
            // dropped): start where the sender starts.
            started = true;
            received = firstSequence;
            consumed = Math.max(consumed, firstSequence);
        }
        channel = ch;
        acknowledged = firstSequence;
        scheduleAck(); // frames consumed while the sender was away are acknowledged on the new connection
    }

    /** Where the sender of the connection just attached must resume writing. */
    synchronized long resume() {
        return received;
    }

    synchronized boolean isIdle() {
        return channel == null;
    }

    /**
     * {@code frames} whole frames were read from {@code ch}: returns the number following the last of
     * them, or -1 if {@code ch} no longer carries this stream (they must be dropped). Event loop of {@code ch}.
     */
    synchronized long received(Channel ch, int frames) {
        if (ch != channel) {
            return -1;
        }
        received += frames;
        return received;
    }

    /** The connection {@code ch} closed. */
    synchronized void detach(Channel ch) {
        if (channel == ch) {
            channel = null;
        }
    }

    /** The application has consumed every frame numbered below {@code end}. Any thread. */
    void consumed(long end) {
        if (owner.isClosing()) {
            return; // a closing transport discards what it holds: a batch released now was not consumed
        }
        synchronized (this) {
            if (end <= consumed) {
                return;
            }
            consumed = end;
        }
        scheduleAck();
    }

    private void scheduleAck() {
        Channel ch;
        synchronized (this) {
            ch = channel;
        }
        if (ch != null && ackScheduled.compareAndSet(false, true)) {
            ch.eventLoop().execute(sendAck);
        }
    }

    private void sendAck() {
        Channel ch;
        long value;
        synchronized (this) {
            ch = channel;
            if (ch == null) {
                ackScheduled.set(false);
                return;
            }
            long now = ch.eventLoop().ticker().nanoTime();
            long wait = lastAckNanos + MIN_ACK_INTERVAL_NANOS - now;
            if (wait > 0 && sentAny) {
                // Another ACK so soon would cost the two peers a syscall and a wake-up each for a few frames: later.
                try {
                    ch.eventLoop().schedule(sendAck, wait, TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    ackScheduled.set(false); // the event loop stops, and the connection with it
                }
                return;
            }
            ackScheduled.set(false);
            value = consumed;
            if (value <= acknowledged) {
                return;
            }
            acknowledged = value;
            lastAckNanos = now;
            sentAny = true;
        }
        ch.writeAndFlush(ProtocolV2.encodeAck(ch.alloc(), value), ch.voidPromise());
    }
}
