package org.stagecrew.transport;

import java.time.Duration;
import java.util.Objects;

/**
 * What a successful send promises: the delivery mode of a {@link Transport}, set with {@link
 * TransportConfig.Builder#delivery}. Immutable and thread-safe.
 *
 * <ul>
 *   <li>{@link #written()} (the default): a send completes when its frame is written to the
 *       destination's socket. If the destination dies, what its socket buffer and inbox held is lost,
 *       and the sender does not learn it. Protocol version 1; works with every peer.
 *   <li>{@link #acknowledged(Duration)}: a send completes when the destination's application has
 *       consumed the frame: {@link Transport#receive} returned it, or the {@link Transport#poll}
 *       handler (or the {@code eventLoopHandler}, or a worker pool's handler) returned. Until then the
 *       frame is kept, and counted against the write watermarks. A dropped connection is reconnected
 *       and the unacknowledged frames are written again without duplicates; a destination that
 *       restarts at the same address within the redelivery window gets, in order, every frame its
 *       previous incarnation did not consume. When the destination stays unreachable longer than the
 *       window, each unacknowledged frame fails with {@link DeliveryTimeoutException}. So each frame
 *       is handed to the application once per destination incarnation, or fails typed; never both,
 *       never neither. Protocol version 2: a destination that speaks only version 1 fails the frames
 *       with {@link PeerRejectedException}.
 * </ul>
 *
 * <p>Not promised: a sender that dies loses its own unacknowledged frames (there is no disk journal;
 * use a durable log for that). A frame that fails with {@link DeliveryTimeoutException} may have been
 * consumed by an incarnation that died before its acknowledgement reached the sender.
 */
public final class Delivery {
    /** Default redelivery window of {@link #acknowledged()}: 30 s. */
    public static final Duration DEFAULT_REDELIVERY_WINDOW = Duration.ofSeconds(30);

    private static final Delivery WRITTEN = new Delivery(null);

    /** The window, or null for {@link #written()}. */
    private final Duration redeliveryWindow;

    private Delivery(Duration redeliveryWindow) {
        this.redeliveryWindow = redeliveryWindow;
    }

    /** A send completes when written to the socket; the default. */
    public static Delivery written() {
        return WRITTEN;
    }

    /** A send completes when the destination's application consumed it; redelivery window 30 s. */
    public static Delivery acknowledged() {
        return new Delivery(DEFAULT_REDELIVERY_WINDOW);
    }

    /**
     * A send completes when the destination's application consumed it; unacknowledged frames fail
     * once the destination has been unreachable for {@code redeliveryWindow}.
     *
     * @throws IllegalArgumentException if the window is not positive
     */
    public static Delivery acknowledged(Duration redeliveryWindow) {
        Objects.requireNonNull(redeliveryWindow, "redeliveryWindow");
        if (redeliveryWindow.isZero() || redeliveryWindow.isNegative()) {
            throw new IllegalArgumentException("redeliveryWindow must be positive, was: " + redeliveryWindow);
        }
        return new Delivery(redeliveryWindow);
    }

    /** Whether sends complete on the destination's acknowledgement (protocol version 2). */
    public boolean isAcknowledged() {
        return redeliveryWindow != null;
    }

    /** How long unacknowledged frames wait for an unreachable destination; {@link Duration#ZERO} for {@link #written()}. */
    public Duration redeliveryWindow() {
        return redeliveryWindow != null ? redeliveryWindow : Duration.ZERO;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Delivery && Objects.equals(redeliveryWindow, ((Delivery) o).redeliveryWindow);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(redeliveryWindow);
    }

    @Override
    public String toString() {
        return redeliveryWindow == null ? "written" : "acknowledged(" + redeliveryWindow + ")";
    }
}
