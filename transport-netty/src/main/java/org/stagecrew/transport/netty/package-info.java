/**
 * The Netty implementation of the transport, and two public helpers for Netty services that want
 * Unix Domain Sockets with their own pipelines: {@link org.stagecrew.transport.netty.DomainSockets}
 * (event loop group, channel types and socket address for an I/O mode, and a bind that owns its
 * socket file as a transport does) and
 * {@link org.stagecrew.transport.netty.FrameCodec} (the wire protocol as pipeline handlers).
 *
 * <p>Inside: each transport on one loop of the JVM-wide shared event loop group of its mode, of the
 * application's group, or of a private group ({@code TransportLoops}); a listening channel whose connections pass a hello
 * ({@code HelloHandler}) and then a batching decoder ({@code FrameBatchDecoder}) that hands whole
 * frames per read to a bounded {@code Inbox}; one cached {@code OutboundConnection} per destination
 * with a lock-free queue that one event-loop task drains into pooled chunks. {@code Protocol} owns
 * the byte layout. {@code SocketFiles} owns the directory and the socket files; {@code AddressLock}
 * owns an address (one owner per socket file, through the lock file beside it, held until close),
 * for transports and {@code DomainSockets.bind} alike. Everything but the two helpers and {@code NettyTransports} is package-private.
 */
package org.stagecrew.transport.netty;
