package org.stagecrew.transport;

/**
 * The live counters of a transport, kept per transport and per peer (each destination it sends to,
 * each sender it receives from); read them in {@link TransportStats} and {@link PeerStats}, or from
 * outside the process in the counters file {@code <socket file>.counters} (the {@code stagecrew
 * stat} command). A counter with a detail ({@link #hasDetail()}) is kept once per detail: per
 * exception type for {@link #SENDS_FAILED}, per notice code for {@link #CONNECTIONS_REFUSED} and
 * {@link #CONNECTIONS_REJECTED}; its keys in the snapshot maps read {@code name.detail}, e.g. {@code
 * sendsFailed.PeerDiedException}.
 *
 * <p>Counters are updated per batch (a write, a read), never per frame; a snapshot is consistent
 * per counter, not across counters.
 */
public enum TransportCounter {
    /** Frames whose bytes reached the socket (or the in-JVM peer), per write completion; acknowledged ones with {@code Delivery.acknowledged}. */
    FRAMES_SENT("framesSent", "frames", false, false),
    /** Bytes written to the socket, 4-byte length headers included; per write completion. */
    BYTES_SENT("bytesSent", "bytes", false, false),
    /** Whole frames read and handed to the inbox (or the event-loop handler); per read batch. */
    FRAMES_RECEIVED("framesReceived", "frames", false, false),
    /** Bytes of the whole frames received, 4-byte length headers included; per read batch. */
    BYTES_RECEIVED("bytesReceived", "bytes", false, false),
    /** Frames whose send failed, by exception type (detail: its simple class name). */
    SENDS_FAILED("sendsFailed", "frames", false, true),
    /** Blocking sends that waited because their destination was back-pressured. */
    BACK_PRESSURE_WAITS("backPressureWaits", "waits", false, false),
    /** Total time blocking sends spent waiting for room. */
    BACK_PRESSURE_WAIT_TIME("backPressureWaitNanos", "nanoseconds", false, false),
    /** Bytes held for a destination and not yet taken by its socket (queued, or in the channel), sampled at each drain pass and when a send meets back-pressure. */
    QUEUED_BYTES("queuedBytes", "bytes", true, false),
    /** The highest {@link #QUEUED_BYTES} sampled. */
    QUEUED_BYTES_HIGH("queuedBytesHigh", "bytes", true, false),
    /** Frames in the inbox now (including the batch a consumer walks). */
    INBOX_FRAMES("inboxFrames", "frames", true, false),
    /** The highest {@link #INBOX_FRAMES} seen. */
    INBOX_FRAMES_HIGH("inboxFramesHigh", "frames", true, false),
    /** Connections opened: outbound ones whose hello was accepted, inbound ones we accepted. */
    CONNECTIONS_OPENED("connectionsOpened", "connections", false, false),
    /** Inbound connections whose hello this transport accepted (transport only). */
    CONNECTIONS_ACCEPTED("connectionsAccepted", "connections", false, false),
    /** Connections open now. */
    CONNECTIONS_ACTIVE("connectionsActive", "connections", true, false),
    /** Opened connections that ended while this transport was open (peer died, hung up, or failed a write). */
    CONNECTIONS_LOST("connectionsLost", "connections", false, false),
    /** Outbound connections that a destination refused, by notice code (detail: the code's name in PROTOCOL.md). */
    CONNECTIONS_REFUSED("connectionsRefused", "connections", false, true),
    /** Inbound connections this transport rejected, by notice code (transport only; the hello named no sender yet). */
    CONNECTIONS_REJECTED("connectionsRejected", "connections", false, true),
    /** Inbound connections closed for breaking the protocol (a frame above {@code maxFrameLength}). */
    PROTOCOL_ERRORS("protocolErrors", "connections", false, false),
    /** Received frames thrown away unconsumed: at close, or cut by a connection's end. */
    FRAMES_DISCARDED("framesDiscarded", "frames", false, false),
    /** Connections to a destination opened after an earlier one to it had been opened. */
    RECONNECTS("reconnects", "connections", false, false);

    private final String label;
    private final String unit;
    private final boolean gauge;
    private final boolean detail;

    TransportCounter(String label, String unit, boolean gauge, boolean detail) {
        this.label = label;
        this.unit = unit;
        this.gauge = gauge;
        this.detail = detail;
    }

    /** The counter's name in snapshots, the counters file and the {@code stagecrew} tool, e.g. {@code framesSent}. */
    public String label() {
        return label;
    }

    /** What one unit of the value is, e.g. {@code frames}, {@code bytes}, {@code nanoseconds}. */
    public String unit() {
        return unit;
    }

    /** Whether the value is a level that rises and falls (or a high-water mark), rather than a count that only rises. */
    public boolean isGauge() {
        return gauge;
    }

    /** Whether the counter is kept once per detail (exception type or notice code). */
    public boolean hasDetail() {
        return detail;
    }

    /** The counter whose {@link #label()} is {@code label}, or null. */
    public static TransportCounter ofLabel(String label) {
        for (TransportCounter c : values()) {
            if (c.label.equals(label)) {
                return c;
            }
        }
        return null;
    }
}
