package org.stagecrew.transport;

import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * An endpoint that owns a unique {@link Address} (a Unix Domain Socket file), sends frames to any
 * address it knows, and receives frames, each with its sender's address, from anyone who knows its
 * own.
 *
 * <p><b>Threading and order.</b> Every method may be called from any thread. Order is per sending
 * thread: the frames that one thread sends to one destination are written, and arrive, in the order
 * of that thread's calls, whichever send methods it mixes. Frames that different threads send to the
 * same destination have no defined order relative to each other, even when one thread's send
 * returned before the other's began (each thread copies into its own buffer, which the event loop
 * drains in turn); to order frames across threads, send them from one thread. Frames are coalesced
 * and flushed in batches on an event loop.
 *
 * <p><b>Buffers.</b> Every send takes ownership of the payload buffer it is given, whatever happens
 * (the one exception: {@link #offer} returns a status other than {@link OfferResult#ACCEPTED}, and
 * then the caller keeps it). The copying forms, {@link #send(Address, ByteBuf, int, int, Duration)}
 * and {@link #offer(Address, ByteBuf, int, int)}, leave the buffer with the caller, who may reuse it
 * at once: the cheapest way to send small frames. Pooled direct buffers ({@code
 * PooledByteBufAllocator.DEFAULT}) are the cheapest to hand over. Received frames are documented in
 * {@link Frame}.
 *
 * <p><b>Back-pressure.</b> Each destination has a write queue bounded by the configured high
 * watermark: above it the blocking {@link #send(Address, ByteBuf, Duration)} waits, {@link #offer}
 * returns {@link OfferResult#BACK_PRESSURED} and {@link #send(Address, ByteBuf)} fails at once with
 * {@link BackPressureException}. The watermark counts the memory held, not only payload bytes: a
 * small frame copied into a pooled buffer counts that whole buffer until its write completes. The inbox is bounded too: when it is full the transport stops
 * reading from its sockets, which slows the senders down instead of dropping anything.
 *
 * <p><b>One owner per address.</b> A transport owns its socket file from {@link #open} to
 * {@link #close()}: it holds an advisory lock on the lock file beside it ({@code <socket file>.lock},
 * mode 0600, containing the owner's pid) and replaces a stale socket file or refuses a live one only
 * under that lock. Of two threads or processes opening one address at the same moment, exactly one
 * succeeds, in every I/O mode. A process killed with SIGKILL leaves both files; the next owner
 * replaces them.
 *
 * <p>The implementation is found through {@link java.util.ServiceLoader} (see {@link
 * org.stagecrew.transport.spi.TransportProvider}); a scheduler that wants to be told when frames
 * arrive uses {@link FrameSignals#of(Transport)}.
 *
 * <p>Closing the transport fails pending sends with {@link TransportClosedException}, releases
 * every buffer it holds and unlinks its socket file, then its lock file.
 */
public interface Transport extends AutoCloseable {

    /** Opens a transport with {@link TransportConfig#defaults()}. */
    static Transport open() {
        return open(TransportConfig.defaults());
    }

    /**
     * Binds a new transport's socket file and starts its event loop.
     *
     * @throws AddressInUseException if another transport (of this JVM or another process) owns the
     *         address, or a live listener holds the socket file
     * @throws IllegalArgumentException if the socket path is too long for {@code sun_path}
     * @throws TransportException if the socket directory is unsafe or the I/O mode is unavailable
     * @throws NoTransportProviderException if no implementation is on the class path
     * @throws UnsupportedNettyVersionException if the class path has Netty 4.1: the transport needs 4.2
     *         (the drop-in, {@code DomainSockets} and {@code FrameCodec}, runs on both)
     */
    static Transport open(TransportConfig config) {
        return TransportProviders.provider().open(config);
    }

    /** This transport's own address, which its frames carry as their sender. */
    Address address();

    /** The configuration this transport was opened with. */
    TransportConfig config();

    /**
     * Sends a frame asynchronously. The returned future completes when the frame has been written to
     * the destination's socket, or fails with a {@link TransportException} subclass: {@link
     * UnknownAddressException}, {@link ConnectionRefusedException}, {@link PeerRejectedException},
     * {@link FrameTooLargeException}, {@link BackPressureException}, {@link
     * TransportClosedException} or {@link TransportTimeoutException}, or a plain {@link
     * TransportException} caused by an {@link OutOfMemoryError} when the event loop had no direct
     * memory left to write it (that frame alone fails). A future that failed means its
     * frame was not delivered, so a retry creates no duplicate; a frame whose bytes reached the socket
     * completes normally even if the connection closes afterwards. If the connection ended in the
     * middle of the frame, the {@link TransportClosedException} says how many of its bytes were
     * written (the destination drops an incomplete frame). Dependent actions attached without an
     * executor run on the event loop and must not block.
     *
     * @param destination where to send
     * @param payload the frame's bytes from reader to writer index; ownership passes to the transport
     */
    CompletableFuture<Void> send(Address destination, ByteBuf payload);

    /**
     * Sends a frame, waiting up to {@code timeout} while the destination's queue is above its high
     * watermark. Returns once the frame is queued; a later failure goes to the configured {@link
     * UndeliverableHandler}. Allocates nothing per frame in steady state.
     *
     * @param destination where to send
     * @param payload the frame's bytes; ownership passes to the transport, also when this throws
     * @param timeout how long to wait for room in the destination's queue
     * @throws TransportTimeoutException if there was no room before the timeout
     * @throws FrameTooLargeException if the payload is longer than {@code maxFrameLength}
     * @throws TransportClosedException if the transport is closed
     * @throws TransportException if the thread is interrupted while it waits for room (the cause is
     *     the {@link InterruptedException} and the thread's interrupt status stays set), or caused by
     *     an {@link OutOfMemoryError} if no direct memory is left to queue the frame
     */
    void send(Address destination, ByteBuf payload, Duration timeout);

    /**
     * Sends a copy of {@code length} bytes of {@code source} from {@code index}, waiting up to {@code
     * timeout} while the destination's queue is above its high watermark. The caller keeps {@code
     * source}: its indices and reference count do not change, and it may be reused as soon as this
     * returns. The cheapest way to send small frames: they are encoded straight into the calling
     * thread's pooled buffer for the destination. A later failure goes to the configured {@link
     * UndeliverableHandler}.
     *
     * @throws IndexOutOfBoundsException if the range is not within {@code source}'s capacity
     * @throws TransportTimeoutException if there was no room before the timeout
     * @throws FrameTooLargeException if {@code length} is above {@code maxFrameLength}
     * @throws TransportClosedException if the transport is closed
     * @throws TransportException if the thread is interrupted while it waits for room; the cause is
     *     the {@link InterruptedException} and the thread's interrupt status stays set
     * @throws TransportException caused by an {@link OutOfMemoryError} (Netty's {@code
     *     OutOfDirectMemoryError}) if no direct memory is left for the copy; nothing was queued. Each
     *     destination may hold up to about twice its high watermark, per sending transport: lower the
     *     watermarks when one JVM sends to many
     */
    void send(Address destination, ByteBuf source, int index, int length, Duration timeout);

    /**
     * Queues a copy of {@code length} bytes of {@code source} from {@code index} if the destination
     * has room, without blocking and without a future. The caller keeps {@code source} whatever the
     * result. A later failure goes to the configured {@link UndeliverableHandler}.
     *
     * @return {@link OfferResult#ACCEPTED} if the frame was queued
     * @throws IndexOutOfBoundsException if the range is not within {@code source}'s capacity
     * @throws FrameTooLargeException if {@code length} is above {@code maxFrameLength}
     * @throws TransportException caused by an {@link OutOfMemoryError} if no direct memory is left
     *     for the copy; nothing was queued
     */
    OfferResult offer(Address destination, ByteBuf source, int index, int length);

    /**
     * Queues a frame if the destination has room, without blocking and without a future. A later
     * failure goes to the configured {@link UndeliverableHandler}.
     *
     * @return {@link OfferResult#ACCEPTED} if the transport took the payload; otherwise the caller
     *     still owns it
     * @throws FrameTooLargeException if the payload is longer than {@code maxFrameLength} (the
     *     payload is released)
     * @throws TransportException caused by an {@link OutOfMemoryError} if no direct memory is left
     *     to queue the frame (the payload is released; nothing was queued)
     */
    OfferResult offer(Address destination, ByteBuf payload);

    /**
     * Waits up to {@code timeout} until every frame sent so far has been written to its
     * destination's socket or has failed. Call it before {@link #close()} when frames sent just
     * before must not be failed by the close, e.g. a reply sent as a task ends. The calling thread
     * parks until the event loop signals that the last write finished: waiting costs no CPU, however
     * many threads wait.
     *
     * <p>An interrupted thread does not wait: if it is interrupted before or while it would wait,
     * {@code flush} returns {@code false} at once and the thread's interrupt status stays set (so a
     * caller that must tell a timeout from an interrupt checks {@link Thread#isInterrupted()}). A
     * flush with nothing left to wait for returns {@code true}, interrupted or not.
     *
     * @return whether everything was written or failed in time; {@code false} at once if the thread
     *     is interrupted, or if called on the event loop that still has frames to write (it cannot
     *     wait for itself)
     */
    boolean flush(Duration timeout);

    /**
     * Takes the next received frame, waiting up to {@code timeout} for one.
     *
     * @return an owned frame that the caller must close, or {@code null} if none arrived in time
     * @throws TransportClosedException if the transport is closed, also while waiting
     */
    Frame receive(Duration timeout);

    /**
     * Pushes up to {@code limit} received frames to {@code handler} on the calling thread, without
     * waiting. The frames are views valid during each call (see {@link Frame}).
     *
     * @return the number of frames handled
     * @throws TransportClosedException if the transport is closed
     */
    int poll(FrameHandler handler, int limit);

    /**
     * Like {@link #poll(FrameHandler, int)}, but first waits up to {@code timeout} for a frame to
     * arrive when none is ready.
     *
     * @return the number of frames handled, 0 if none arrived in time
     * @throws TransportClosedException if the transport is closed, also while waiting
     */
    int poll(FrameHandler handler, int limit, Duration timeout);

    /**
     * Returns an immutable snapshot of the counters of accepted, rejected and failed inbound
     * connections and, per sender, of the received frames that closing threw away (see {@link
     * #close()}). Still answers after the transport is closed.
     */
    TransportStats stats();

    /** Returns whether the transport is open. */
    boolean isOpen();

    /**
     * Shuts down without discarding: stops accepting connections and unlinks the socket file, tells
     * every connected sender {@code SHUTTING_DOWN} (its later sends fail with {@link
     * TransportClosedException}), keeps reading until every sender has hung up, and waits until the
     * application has consumed every received frame through {@link #receive}, {@link #poll} or its
     * workers, which go on running meanwhile; then {@link #close()}s. Sends from this transport still
     * work while it drains. At {@code timeout}, closes anyway, counting what is left as {@code close()}
     * does.
     *
     * <p>Must be called from a thread other than the transport's consumers: called from a frame
     * handler (poll or event-loop handler) it cannot wait for itself, and closes at once. Calling it
     * again, or after {@code close()}, returns {@code false} at once.
     *
     * @param timeout how long to wait for the senders to hang up and the inbox to be drained
     * @return {@code true} if nothing was discarded: every sender hung up and every frame was consumed
     *     in time
     */
    boolean closeGracefully(Duration timeout);

    /**
     * Closes the transport: stops accepting, fails pending sends with {@link
     * TransportClosedException}, releases queued and received buffers, unlinks the socket file and
     * stops the event loop. Idempotent; waits a bounded time for the event loop to finish.
     *
     * <p><b>Frames in flight towards this transport.</b> No frame is handed to a consumer once
     * {@code close()} has begun, not even the rest of the batch a {@code poll} is walking (its
     * handler may call {@code close()} itself; {@code poll} then returns normally). Every connected
     * sender is told {@code SHUTTING_DOWN}: its sends not yet written fail with {@link
     * TransportClosedException}, and it hangs up. Until it does (at most one second) this transport
     * reads on, so that what the sender had already written to the socket is read too. Every whole
     * frame received and not consumed, whether in the socket, in the inbox or in the batch at hand, is
     * released and counted per sender in {@link TransportStats#discardedFrames()}, and one line per
     * sender with its count is logged at WARN. So for each sender: frames whose send succeeded =
     * frames consumed here + frames counted as discarded. Not counted: a frame cut short by its
     * sender hanging up (that sender saw its send fail), and what a sender that does not hang up
     * within the second still had in the socket, or, when {@code close()} is called on an event loop
     * of this transport (an event-loop handler), in the socket at that moment.
     * To lose nothing, use {@link #closeGracefully(Duration)}.
     */
    @Override
    void close();
}
