package org.stagecrew.transport.netty;

import io.netty.channel.Channel;
import io.netty.channel.local.LocalChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

/**
 * The bounded hand-off from event loops to consumers. Event loops add whole {@link InboundBatch}es;
 * consumers take them one at a time. A batch is never refused (its bytes are already read): when
 * the frames or bytes held reach capacity, the channel that delivered it stops reading
 * ({@code autoRead} off) until consumers bring both below half the capacity. So the inbox holds at
 * most its capacity plus one read per connection. An in-JVM (LOCAL) channel is never paused, because
 * Netty drops what a paused {@code LocalChannel} still queues when its peer closes; our in-JVM
 * senders stop at a full inbox themselves ({@link #parkUntilRoom}), at most one drain pass late.
 *
 * <p>Closing releases every batch still held and counts its frames in {@link Discards}, per
 * sender; so does a batch added after the close.
 *
 * <p>Thread-safe. Locking is per batch, never per frame. A consumer waiting in {@link #take} parks
 * itself ({@link LockSupport#parkNanos}) after putting its thread in {@link #waiters} under the lock,
 * and {@link #add} takes the oldest waiter out under the same lock and unparks it after unlocking:
 * no wake-up is lost (an unpark before the park leaves a permit), and a wait allocates nothing (a
 * {@link Condition} wait allocates a queue node per wait).
 */
final class Inbox {
    private static final Logger LOG = LoggerFactory.getLogger(Inbox.class);
    private final Address owner;
    private final int capacityFrames;
    private final long capacityBytes;
    private final ReentrantLock lock = new ReentrantLock();
    /** Consumers parked in {@link #take}, oldest first; guarded by {@link #lock}. An entry is removed by whoever wakes it. */
    private final ArrayDeque<Thread> waiters = new ArrayDeque<>();
    /** Signalled when the last frame held was consumed, or on close. */
    private final Condition empty = lock.newCondition();
    private final Discards discards;
    /** Where the depth and its high-water mark are published, per batch. */
    private final TransportCounters counters;
    private final ArrayDeque<InboundBatch> batches = new ArrayDeque<>();
    /** Consumed batches kept for later reads (see {@link #add}); at most {@value #MAX_IDLE_BATCHES}. */
    private final ArrayDeque<InboundBatch> idle = new ArrayDeque<>();
    static final int MAX_IDLE_BATCHES = 64;
    private final List<Channel> paused = new ArrayList<>();
    /** In-JVM (LOCAL) senders parked until there is room; see {@link #parkUntilRoom}. */
    private final List<Runnable> parkedSenders = new ArrayList<>();
    /** At capacity, until consumers bring frames and bytes down to half of it. */
    private volatile boolean full;
    private long frames;
    private long bytes;
    private boolean closed;
    private static final Runnable[] NO_LISTENERS = {};
    /** Copy on write, so that add() walks them without a lock or an iterator; guarded by {@code this} for writes. */
    private volatile Runnable[] listeners = NO_LISTENERS;

    Inbox(Address owner, int capacityFrames, long capacityBytes) {
        this(owner, capacityFrames, capacityBytes, new Discards());
    }

    Inbox(Address owner, int capacityFrames, long capacityBytes, Discards discards) {
        this.owner = owner;
        this.discards = discards;
        this.counters = discards.counters();
        this.capacityFrames = capacityFrames;
        this.capacityBytes = capacityBytes;
    }

    /**
     * Adds a batch read from {@code channel}; called on that channel's event loop. Returns a
     * consumed batch for the caller to {@link InboundBatch#reset} for its next read, or null if
     * none is idle: the caller keeps it as its own, since the lock taken here already hands it over.
     */
    InboundBatch add(Channel channel, InboundBatch batch) {
        InboundBatch spare;
        Thread waiter;
        lock.lock();
        try {
            spare = idle.pollLast();
            if (closed) {
                discards.add(batch.sender, batch.frames);
                batch.buffer.release();
                return spare;
            }
            batches.addLast(batch);
            frames += batch.frames;
            counters.inbox(frames);
            bytes += batch.bytes;
            if (frames >= capacityFrames || bytes >= capacityBytes) {
                full = true;
                // An in-JVM channel is not paused: it would drop what its peer queued when the peer closes (a socket
                // keeps such bytes readable). Its senders stop at a full inbox themselves (parkUntilRoom).
                if (channel.config().isAutoRead() && !(channel instanceof LocalChannel)) {
                    // Under the lock, so that a consumer's resume can never overtake this pause.
                    channel.config().setAutoRead(false);
                    paused.add(channel);
                }
            }
            waiter = waiters.pollFirst(); // taken off under the lock: woken exactly once, below
        } finally {
            lock.unlock();
        }
        if (waiter != null) {
            LockSupport.unpark(waiter); // after the unlock, so that the woken consumer does not find the lock held
        }
        notifyListeners();
        return spare;
    }

    private void notifyListeners() {
        for (Runnable available : listeners) {
            try {
                available.run();
            } catch (RuntimeException e) {
                LOG.warn("frames-available listener of {} threw; the frames stay in the inbox", owner, e);
            }
        }
    }

    /** Adds a listener run after each batch is added, and once when the inbox closes. */
    synchronized void addListener(Runnable listener) {
        Runnable[] grown = Arrays.copyOf(listeners, listeners.length + 1);
        grown[grown.length - 1] = listener;
        listeners = grown;
    }

    /** Removes one registration of {@code listener}; returns whether there was one. */
    synchronized boolean removeListener(Runnable listener) {
        Runnable[] current = listeners;
        for (int i = 0; i < current.length; i++) {
            if (current[i] == listener) {
                Runnable[] shrunk = new Runnable[current.length - 1];
                System.arraycopy(current, 0, shrunk, 0, i);
                System.arraycopy(current, i + 1, shrunk, i, current.length - i - 1);
                listeners = shrunk;
                return true;
            }
        }
        return false;
    }

    /** Takes the next batch without waiting, or returns null. */
    InboundBatch poll() {
        lock.lock();
        try {
            ensureOpen();
            return batches.pollFirst();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Takes the next batch, waiting up to {@code nanos}; null on timeout. Allocates nothing, waiting
     * or not.
     *
     * @throws TransportClosedException if the inbox is or gets closed
     * @throws TransportException if the thread is interrupted while it waits; the cause is an {@link
     *     InterruptedException} and the thread's interrupt status stays set
     */
    InboundBatch take(long nanos) {
        lock.lock();
        try {
            ensureOpen();
            if (!batches.isEmpty() || nanos <= 0) {
                return batches.pollFirst();
            }
            long deadline = System.nanoTime() + nanos;
            Thread self = Thread.currentThread();
            while (true) {
                waiters.addLast(self);
                lock.unlock();
                try {
                    LockSupport.parkNanos(this, nanos);
                } finally {
                    lock.lock();
                    waiters.removeFirstOccurrence(self); // still there unless add() or close() woke us
                }
                ensureOpen();
                if (!batches.isEmpty()) {
                    return batches.pollFirst();
                }
                if (Thread.currentThread().isInterrupted()) {
                    // The cause says why, as a Condition wait's did: a unit's stop interrupts its receive and looks for it.
                    throw new TransportException("receive on " + owner + " was interrupted",
                            new InterruptedException("interrupted while waiting for a frame"));
                }
                nanos = deadline - System.nanoTime();
                if (nanos <= 0) {
                    return null;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Releases a fully consumed batch and resumes paused channels when below the low mark. The
     * batch object is kept for a later read: the caller must not touch it after this call.
     */
    void consumed(InboundBatch batch) {
        batch.buffer.release();
        if (batch.stream != null) {
            batch.stream.consumed(batch.streamEnd); // nothing once the transport is closing: see AckStream
        }
        List<Channel> resume = null;
        List<Runnable> wake = null;
        lock.lock();
        try {
            frames -= batch.frames;
            bytes -= batch.bytes;
            batch.clear();
            if (idle.size() < MAX_IDLE_BATCHES) {
                idle.addLast(batch);
            }
            counters.inbox(frames);
            if (frames == 0) {
                empty.signalAll();
            }
            if (full && frames <= capacityFrames / 2 && bytes <= capacityBytes / 2) {
                full = false;
                resume = new ArrayList<>(paused);
                paused.clear();
                wake = new ArrayList<>(parkedSenders);
                parkedSenders.clear();
            }
        } finally {
            lock.unlock();
        }
        if (resume != null) {
            for (Channel channel : resume) {
                channel.config().setAutoRead(true);
            }
            for (Runnable sender : wake) {
                sender.run();
            }
        }
    }

    /** Whether the inbox is at capacity (and has not yet drained to half of it). */
    boolean isFull() {
        return full;
    }

    /**
     * For an in-JVM sender, which no socket buffer slows down: if the inbox is full, remembers
     * {@code wake} to run once it has room and returns true; otherwise returns false at once.
     */
    boolean parkUntilRoom(Runnable wake) {
        lock.lock();
        try {
            if (!full || closed) {
                return false;
            }
            parkedSenders.add(wake);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Frames held, including those of a batch a consumer is still walking. */
    long frames() {
        lock.lock();
        try {
            return frames;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits up to {@code nanos} until consumers have consumed every frame held (including the batch
     * one is walking) or the inbox is closed; returns whether it is empty.
     */
    boolean awaitEmpty(long nanos) {
        lock.lock();
        try {
            while (frames > 0 && !closed) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = empty.awaitNanos(nanos);
            }
            return frames == 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return frames == 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Releases every batch still held and wakes waiting consumers and, the first time, the
     * listeners, so that a scheduled consumer sees the close; idempotent.
     */
    void close() {
        List<Runnable> wake;
        boolean first;
        lock.lock();
        try {
            first = !closed;
            closed = true;
            InboundBatch batch;
            while ((batch = batches.pollFirst()) != null) {
                frames -= batch.frames;
                bytes -= batch.bytes;
                discards.add(batch.sender, batch.remaining);
                batch.buffer.release();
            }
            counters.inbox(frames);
            paused.clear();
            full = false;
            wake = new ArrayList<>(parkedSenders);
            parkedSenders.clear();
            Thread waiter;
            while ((waiter = waiters.pollFirst()) != null) {
                LockSupport.unpark(waiter);
            }
            empty.signalAll();
        } finally {
            lock.unlock();
        }
        for (Runnable sender : wake) {
            sender.run();
        }
        if (first) {
            notifyListeners();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new TransportClosedException("transport " + owner + " is closed");
        }
    }
}
