package org.stagecrew.transport;

/**
 * Receives frames pushed by {@link Transport#poll(FrameHandler, int)}.
 *
 * <p>Called on the polling thread, one frame at a time, in arrival order per sender. The frame is a
 * view valid only during the call (see {@link Frame}); the handler must not release its payload.
 * An exception thrown by the handler propagates out of {@code poll}; the frame it was handling
 * counts as consumed.
 */
@FunctionalInterface
public interface FrameHandler {

    /** Handles one frame; see the interface documentation for how long it stays valid. */
    void onFrame(Frame frame);
}
