package org.stagecrew.transport;

/**
 * The Netty on the class path is too old for what was asked: {@link Transport#open} and the I/O-handler
 * parts of {@link org.stagecrew.transport.netty.DomainSockets} need Netty 4.2, while the drop-in
 * ({@code DomainSockets}' event loop groups, channel types, addresses and {@code bind}, and
 * {@code FrameCodec}) runs on Netty 4.1 as well. The message names the Netty version found and the fix.
 */
public class UnsupportedNettyVersionException extends TransportException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message naming the operation, the Netty version found and the fix. */
    public UnsupportedNettyVersionException(String message) {
        super(message);
    }
}
