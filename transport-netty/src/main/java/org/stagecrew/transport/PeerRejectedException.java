package org.stagecrew.transport;

/**
 * The destination answered the hello with a rejection (or closed the connection with a notice);
 * {@link #reason()} carries the text it gave.
 */
public class PeerRejectedException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** The rejection code the destination sent. */
    private final int code;
    /** The text the destination gave. */
    private final String reason;

    /**
     * Creates the exception.
     *
     * @param destination the address that rejected us
     * @param code the notice code the peer sent (see PROTOCOL.md)
     * @param reason the reason the peer gave
     */
    public PeerRejectedException(Address destination, int code, String reason) {
        this(destination, code, "code " + code, reason);
    }

    /**
     * Creates the exception with the protocol's name for the code.
     *
     * @param destination the address that rejected us
     * @param code the notice code the peer sent (see PROTOCOL.md)
     * @param codeName the code's name in PROTOCOL.md, e.g. {@code NOT_ALLOWED}
     * @param reason the reason the peer gave
     */
    public PeerRejectedException(Address destination, int code, String codeName, String reason) {
        super("peer " + destination + " rejected the connection (" + codeName + "): " + reason);
        this.code = code;
        this.reason = reason;
    }

    /** The notice code the peer sent, as listed in PROTOCOL.md. */
    public int code() {
        return code;
    }

    /** The reason text the peer sent. */
    public String reason() {
        return reason;
    }
}
