package org.stagecrew.transport;

/**
 * The scheduler's view of a transport's inbox: a listener run when frames arrive, and whether frames
 * wait. For worker pools that schedule a consumer instead of polling (the concurrency module's
 * {@code WorkerPool}); applications consume with {@link Transport#receive} and {@link Transport#poll}
 * and rarely need this. Get it with {@link #of(Transport)}. Every method may be called from any
 * thread.
 */
public interface FrameSignals {

    /**
     * Returns the frame signals of {@code transport}.
     *
     * @throws UnsupportedOperationException if its implementation does not signal frames
     * @throws NullPointerException if {@code transport} is null
     */
    static FrameSignals of(Transport transport) {
        if (transport instanceof FrameSignals) {
            return (FrameSignals) transport;
        }
        throw new UnsupportedOperationException("FrameSignals.of failed for " + transport.address() + ": its "
                + transport.getClass().getName() + " does not implement FrameSignals; poll it with Transport.poll instead");
    }

    /**
     * Adds a listener that is run each time received frames are added to the inbox, and once when
     * the transport closes, so that a worker pool can schedule a consumer instead of polling and
     * notices the close. Several listeners coexist; each is run in the order added, and one that
     * throws is logged and does not keep the others from running. It runs on an event loop thread
     * (the closing thread for the close): it must return quickly, must not block and should not
     * consume frames itself. Frames that arrived before it was added do not trigger it. Adding the
     * same listener twice registers it twice.
     *
     * @param listener what to run
     * @throws NullPointerException if {@code listener} is null
     */
    void onFramesAvailable(Runnable listener);

    /**
     * Removes one registration of a listener added with {@link #onFramesAvailable}; a call already
     * running may still complete after this returns.
     *
     * @param listener what was added
     * @return whether it was registered
     * @throws NullPointerException if {@code listener} is null
     */
    boolean removeFramesAvailableListener(Runnable listener);

    /**
     * Returns whether received frames are waiting to be consumed. A hint for schedulers: another
     * consumer may take them first.
     *
     * @return whether frames wait in the inbox
     */
    boolean hasFrames();
}
