package org.stagecrew.transport;

/** What {@link Transport#offer} did with a frame. */
public enum OfferResult {
    /** The frame was queued for writing; the transport owns the payload now. */
    ACCEPTED,
    /**
     * The destination's connection is above its high write-buffer watermark. The frame was not
     * taken: the caller still owns the payload and may retry later.
     */
    BACK_PRESSURED,
    /** The transport is closed. The frame was not taken: the caller still owns the payload. */
    CLOSED
}
