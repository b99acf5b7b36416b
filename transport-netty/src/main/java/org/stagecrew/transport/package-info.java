/**
 * The transport API: an execution unit's {@link org.stagecrew.transport.Transport} owns a unique
 * {@link org.stagecrew.transport.Address} (a Unix Domain Socket file, or a Linux abstract name),
 * sends frames to any address it knows, and receives {@link org.stagecrew.transport.Frame}s that
 * name their sender.
 *
 * <p>Start from {@link org.stagecrew.transport.Transport#open()} and
 * {@link org.stagecrew.transport.TransportConfig}. Threading: every transport method may be called
 * from any thread; socket work runs on the transport's event loop; received frames are consumed on
 * the calling thread ({@code receive}, {@code poll}). Buffers: a send takes ownership of its
 * payload; see {@link org.stagecrew.transport.Frame} for who releases what is received. Failures
 * are {@link org.stagecrew.transport.TransportException} subclasses.
 */
package org.stagecrew.transport;
