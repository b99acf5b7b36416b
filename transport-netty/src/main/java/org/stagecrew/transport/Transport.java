package org.stagecrew.transport;

import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.transport.netty.NettyTransports;

/**
 * An endpoint that owns a unique {@link Address} (a Unix Domain Socket file), sends frames to any
 * address it knows, and receives frames, each with its sender's address, from anyone who knows its
 * own.
 *
 * <p><b>Threading.</b> Every method may be called from any thread. Frames to one destination are
 * written in the order their sends returned (per sending thread, and in the order of the calls when
 * one thread sends); they are coalesced and flushed in batches on an event loop.
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
 * {@link BackPressureException}. The inbox is bounded too: when it is full the transport stops
 * reading from its sockets, which slows the senders down instead of dropping anything.
 *
 * <p><b>One owner per address.</b> A transport owns its socket file from {@link #open} to
 * {@link #close()}: it holds an advisory lock on the lock file beside it ({@code <socket file>.lock},
 * mode 0600, containing the owner's pid) and replaces a stale socket file or refuses a live one only
 * under that lock. Of two threads or processes opening one address at the same moment, exactly one
 * succeeds, in every I/O mode. A process killed with SIGKILL leaves both files; the next owner
 * replaces them.
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
     */
    static Transport open(TransportConfig config) {
        return NettyTransports.open(config);
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
     * TransportClosedException} or {@link TransportTimeoutException}. Dependent actions attached
     * without an executor run on the event loop and must not block.
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
     */
    OfferResult offer(Address destination, ByteBuf payload);

    /**
     * Waits up to {@code timeout} until every frame sent so far has been written to its
     * destination's socket or has failed. Call it before {@link #close()} when frames sent just
     * before must not be failed by the close, e.g. a reply sent as a task ends.
     *
     * @return whether everything was written or failed in time
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
     * Sets the one listener that is run each time received frames are added to the inbox, so that a
     * worker pool can schedule a consumer instead of polling (see the concurrency module). It runs
     * on an event loop thread: it must return quickly, must not block and should not consume frames
     * itself. {@code null} removes it. Frames that arrived before it was set do not trigger it.
     */
    void onFramesAvailable(Runnable listener);

    /**
     * Returns whether received frames are waiting to be consumed. A hint for schedulers: another
     * consumer may take them first.
     */
    boolean hasFrames();

    /** Returns the counters of accepted, rejected and failed inbound connections. */
    TransportStats stats();

    /** Returns whether the transport is open. */
    boolean isOpen();

    /**
     * Closes the transport: stops accepting, fails pending sends with {@link
     * TransportClosedException}, releases queued and received buffers, unlinks the socket file and
     * stops the event loop. Idempotent; waits a bounded time for the event loop to finish.
     */
    @Override
    void close();
}
