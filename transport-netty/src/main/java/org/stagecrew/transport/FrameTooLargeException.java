package org.stagecrew.transport;

/** A frame's payload is longer than the configured maximum frame length. */
public class FrameTooLargeException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** The payload length in bytes. */
    private final long length;
    /** The configured maximum frame length in bytes. */
    private final int maxFrameLength;

    /**
     * Creates the exception.
     *
     * @param destination where the frame was going
     * @param length the payload length in bytes
     * @param maxFrameLength the configured maximum
     */
    public FrameTooLargeException(Address destination, long length, int maxFrameLength) {
        super("send to " + destination + " failed: frame of " + length + " bytes exceeds maxFrameLength "
                + maxFrameLength + " bytes; raise TransportConfig.maxFrameLength on both sides or split the message");
        this.length = length;
        this.maxFrameLength = maxFrameLength;
    }

    /** The payload length that was refused, in bytes. */
    public long length() {
        return length;
    }

    /** The maximum frame length in force, in bytes. */
    public int maxFrameLength() {
        return maxFrameLength;
    }
}
