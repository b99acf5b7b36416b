/**
 * Micrometer metrics for stagecrew: {@link org.stagecrew.micrometer.TransportMetrics} binds a
 * transport's live counters ({@link org.stagecrew.transport.TransportCounter}) to a {@code
 * MeterRegistry}, tagged with the transport's address and, per peer, the peer's address and
 * direction. Start from {@link org.stagecrew.micrometer.TransportMetrics}. Threading: meters read a
 * snapshot of the counters that is taken at most once per refresh interval, on the reading thread.
 */
package org.stagecrew.micrometer;
