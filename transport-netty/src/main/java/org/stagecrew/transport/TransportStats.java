package org.stagecrew.transport;

/**
 * Counters of a transport's listening side since it opened; a snapshot, not live.
 *
 * @param connectionsAccepted connections whose hello was accepted
 * @param connectionsRejected connections answered with a rejection: peer not allowed, too many
 *     connections, malformed or late hello, unsupported version
 * @param protocolErrors accepted connections closed for breaking the protocol (e.g. a frame above
 *     {@code maxFrameLength})
 */
public record TransportStats(long connectionsAccepted, long connectionsRejected, long protocolErrors) {
}
