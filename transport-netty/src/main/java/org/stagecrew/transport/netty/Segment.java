package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.stagecrew.transport.IdleStrategy;

/**
 * A pooled chunk that one producing thread appends encoded frames to, and that the destination's
 * event loop writes out, slice by slice, behind it.
 *
 * <h2>The state word</h2>
 *
 * One {@code long}, read and written only as a whole:
 *
 * <pre>
 *  63  62                     32  31  30  29  28                          0
 * +---+-------------------------+---+---+---+------------------------------+
 * | D |  frames published       | P | W | S |  published position (bytes) |
 * +---+-------------------------+---+---+---+------------------------------+
 *   |                             |   |   |
 *   +-- DRAINER_DONE              |   |   +------ SEALED
 *              PRODUCER_DONE -----+   +---------- WRITING
 * </pre>
 *
 * Every byte below the published position is a whole frame, counted in "frames published".
 *
 * <h2>States and who moves them</h2>
 *
 * <pre>
 *                  claim(): CAS published -&gt; published|W          (producer)
 *        +--------------------------------------------------------+
 *        |                                                        v
 *   OPEN (W=0, S=0) &lt;--------------------------------------- WRITING (W=1, S=0)
 *        |            publish(): one ordered store of the new
 *        |            position and count, W cleared; or abort():
 *        |            the old word back                       (producer)
 *        |
 *        |  trySeal(observed): CAS observed -&gt; observed|S, when caught up   (drainer)
 *        |  retireByProducer(): OR S|P, segment full or left       (producer; to the last state)
 *        |  sealNow(): as trySeal, waiting out W a bounded time (drainer, on failure)
 *        v
 *   SEALED (S=1): the position is final; the drainer owns the chunk. Then, in either order:
 *     retireByProducer(): OR S|P, the producer's last touch                  (producer)
 *     drainerDone(): OR D, once written out and every slice write completed  (drainer)
 *   and the second of the two owns the segment and recycles it ({@link #resetForReuse()}: OPEN again).
 *   A segment with D and not P is "parked": its chunk waits for its producer's retire, unless
 *   reclaimParked() (CAS to D|P, drainer: too many parked, or the connection failed) takes it first.
 * </pre>
 *
 * <ul>
 *   <li>Position, frame count and {@code W} are written by the producer only; the drainer only reads
 *       them. {@code S} is set by whoever seals first, by CAS; nobody clears it.
 *   <li>A claim and a seal are both compare-and-sets from a word with {@code W = 0} and {@code S = 0}:
 *       exactly one of them wins. A producer whose claim fails finds the segment sealed, retires it
 *       and starts a new one, so its frame is never written into a sealed segment; a drainer whose
 *       seal fails (the producer claimed, or published more since it looked) looks again on its next
 *       pass. So a seal never falls below a published frame, and a sealed segment is never written
 *       again: the drainer may release the chunk once its last slice is written.
 *   <li>Published bytes are visible to the drainer: the producer writes the frame before the ordered
 *       store that publishes it, and the drainer reads the word (a volatile read) before the bytes.
 * </ul>
 *
 * <h2>Recycling: both sides must be done</h2>
 *
 * A segment goes back to its connection's {@link SegmentPool}, chunk and all, for a producer to fill
 * again only when both sides are done with it. The producer is done once it sets {@code P}: {@link
 * #retireByProducer()} is the last thing it does with the segment, in the same atomic step as its
 * seal. The drainer is done once the segment is sealed, every published byte was handed to the
 * channel and the last slice write completed: {@link #drainerDone()} sets {@code D}. Both are atomic
 * ORs on this word, so exactly one of them sees the other's bit, and that side owns the segment (the
 * pool also checks that the chunk's reference count is back to 1: an in-JVM receiver may still hold
 * a slice). If the drainer is done first (it sealed the segment while its producer was idle), the
 * segment is parked with its chunk until the producer's next frame finds it sealed and retires it;
 * the drainer bounds how many are parked and takes back the oldest (and all of them when the
 * connection fails) with {@link #reclaimParked()}, a CAS from "D, not P" to "D and P", which a
 * concurrent retire makes fail: so again exactly one side owns it. A segment is never reset while its
 * producer may still claim it, and never refilled while a slice of it is being written. ({@code
 * SegmentRecycleStress} and {@code SegmentParkedReclaimStress} in this module's src/jcstress check
 * this with jcstress.)
 *
 * <h2>Why no wake-up is lost</h2>
 *
 * After publishing, the producer asks {@link DrainScheduler#request()} for a drain, which reads the
 * scheduler's flag. The publish is an ordered store only, but the claim before it was a
 * compare-and-set, a full fence: the producer's read of the flag comes after its claim. An event loop
 * going idle clears the flag and then reads this word ({@link SegmentWriter#pendingWork()}). If the
 * producer still saw the flag set, its claim came before the clear, so the event loop's read sees
 * {@code W} or the new position, and it schedules itself again ({@link SegmentWriter#PRODUCER_WRITING}
 * or {@link SegmentWriter#DATA}). If the producer saw it clear, it schedules the drain itself. Both
 * move the flag by CAS, so exactly one task follows. ({@code DrainHandOffStress} and {@code
 * SegmentAppendSealStress} in this module's src/jcstress check this with jcstress.)
 *
 * <p>The drainer seals a segment that gained nothing over a whole drain pass: so an idle producer
 * does not hold memory (and queue accounting) for ever. The producer starts a new segment on its
 * next frame, sized by how much of this one it used.
 */
final class Segment {
    static final long POSITION = (1L << 29) - 1;
    static final long SEALED = 1L << 29;
    static final long WRITING = 1L << 30;
    /** Set by the producer as its last touch of the segment; see "Recycling". */
    static final long PRODUCER_DONE = 1L << 31;
    /** Set by the drainer once the segment is written out and no slice write is in flight; see "Recycling". */
    static final long DRAINER_DONE = 1L << 63;
    private static final long FRAMES_MASK = (1L << 31) - 1;
    /** {@link #sealNow()}: the producer stayed inside a write; the segment is not sealed. */
    static final long BUSY = -1L;
    private static final int FRAMES_SHIFT = 32;
    /** Tries of {@link #sealNow()}: spins first, then yields, for some microseconds in all. */
    private static final int SEAL_TRIES = 256;
    private static final int SEAL_SPINS = 64;
    /** {@link #SEAL_SPINS} spins, then yields until {@link #SEAL_TRIES}. */
    private static final IdleStrategy SEAL_IDLE = IdleStrategy.spinThenYield(SEAL_SPINS);

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Segment.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final ByteBuf chunk;
    final int capacity;
    private volatile long state;

    /** Producer only: the state as last published by the producer (no flags). */
    private long published;

    /** Drainer only: bytes below this offset have been handed to the channel. */
    int consumed;
    /** Drainer only: the number of frames below {@link #consumed}. */
    int consumedFrames;
    /** Drainer only: slices of the chunk handed to the channel whose write has not completed. */
    int writesInFlight;
    /** Drainer only: sealed, written out and dropped by the drainer; its capacity counts until {@link #writesInFlight} is 0. */
    boolean retired;
    /**
     * Drainer only: sealed and dropped by the drainer's own pass (not discarded by a failure, which
     * releases the chunk at once), so the segment may be recycled once its slices are written.
     */
    boolean recyclable;

    Segment(ByteBuf chunk) {
        this.chunk = chunk;
        this.capacity = chunk.capacity();
    }

    /**
     * Makes a segment that both sides are done with (see "Recycling") empty and open again, keeping its
     * chunk, for the producer that takes it next. By the segment's owner only, before it hands the
     * segment on through a queue (whose hand-off orders these plain writes before the new producer's reads).
     */
    void resetForReuse() {
        published = 0;
        consumed = 0;
        consumedFrames = 0;
        writesInFlight = 0;
        retired = false;
        recyclable = false;
        STATE.setRelease(this, 0L);
    }

    static int position(long state) {
        return (int) (state & POSITION);
    }

    static int frames(long state) {
        return (int) ((state >>> FRAMES_SHIFT) & FRAMES_MASK);
    }

    // ---- producer side ----

    /** Bytes the producer has published so far. */
    int position() {
        return position(published);
    }

    /** Whether {@code bytes} more fit behind the published position. */
    boolean fits(int bytes) {
        return capacity - position(published) >= bytes;
    }

    /** Claims the chunk for one write; false if the segment is sealed. */
    boolean claim() {
        return STATE.compareAndSet(this, published, published | WRITING);
    }

    /**
     * Publishes one more frame, written since {@link #claim()}, ending at {@code newPosition}, and
     * releases the claim, with one ordered store (no fence). The claim's CAS already ordered the
     * producer's later read of the drainer's "scheduled" flag after it; a drainer that sees {@link
     * #WRITING} when it wants to go idle must therefore look again itself.
     */
    void publish(int newPosition) {
        long next = (((published >>> FRAMES_SHIFT) + 1) << FRAMES_SHIFT) | newPosition;
        published = next;
        STATE.setRelease(this, next);
    }

    /** Releases a claim without publishing anything: the write failed. */
    void abort() {
        STATE.setRelease(this, published);
    }

    /**
     * Seals the segment at the published position, if the drainer has not sealed it already, and
     * marks it {@link #PRODUCER_DONE}, in one atomic step; the producer must not touch it afterwards,
     * since the drainer may recycle it from then on. Not inside a write: the state is the published
     * one, sealed or not, so this is the producer's seal and its release at once.
     *
     * @return true if the drainer was already done with the (parked) segment: the caller now owns it,
     *     chunk included, and must recycle or release it
     */
    boolean retireByProducer() {
        long old = (long) STATE.getAndBitwiseOr(this, SEALED | PRODUCER_DONE);
        return (old & (DRAINER_DONE | PRODUCER_DONE)) == DRAINER_DONE;
    }

    // ---- drainer side ----

    long state() {
        return state;
    }

    /** Whether the producer has moved off the segment ({@link #retireByProducer()}). */
    boolean producerDone() {
        return (state & PRODUCER_DONE) != 0;
    }

    /**
     * Marks the drainer done with a sealed segment whose every published byte was written and whose
     * last slice write completed. Returns true if the producer had already retired it: the drainer
     * now owns it, chunk included; false: the segment is parked, and its producer's retire (or {@link
     * #reclaimParked()}) decides.
     */
    boolean drainerDone() {
        long old = (long) STATE.getAndBitwiseOr(this, DRAINER_DONE);
        return (old & PRODUCER_DONE) != 0;
    }

    /** Whether the drainer is done and the producer not yet: the chunk waits for the producer's retire. */
    boolean isParked() {
        return (state & (DRAINER_DONE | PRODUCER_DONE)) == DRAINER_DONE;
    }

    /**
     * Takes a parked segment away from its (idle, or gone) producer: true if this call owns it now,
     * chunk included; false if it was not parked (its producer retired it first, or it was recycled
     * since). The producer's later retire then finds {@link #PRODUCER_DONE} set and leaves it alone.
     */
    boolean reclaimParked() {
        long s = state;
        return (s & (DRAINER_DONE | PRODUCER_DONE)) == DRAINER_DONE && STATE.compareAndSet(this, s, s | PRODUCER_DONE);
    }

    /** Seals at {@code observed} if the producer is neither writing nor has published more since. */
    boolean trySeal(long observed) {
        return STATE.compareAndSet(this, observed, observed | SEALED);
    }

    /**
     * Seals the segment whatever the producer does, waiting out a write in progress (a few
     * nanoseconds) for a bounded number of tries, and returns the final state; or returns {@link
     * #BUSY}, sealing nothing, if the producer stayed inside its write (it was descheduled, stopped,
     * or died there): the drainer must not wait for it without bound, and must try again later.
     */
    long sealNow() {
        for (int tries = 0; tries < SEAL_TRIES; tries++) {
            long s = state;
            if ((s & SEALED) != 0) {
                return s;
            }
            if ((s & WRITING) == 0 && STATE.compareAndSet(this, s, s | SEALED)) {
                return s;
            }
            SEAL_IDLE.idle(tries);
        }
        return BUSY;
    }
}
