package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import io.netty.util.internal.SystemPropertyUtil;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The read buffers of one accepted connection: sized by Netty's adaptive guess, except that the
 * bytes of a frame that the last read cut short are carried to the front of the next read's buffer,
 * which is made large enough for the whole frame. So a frame cut by the end of a read arrives whole
 * in the next one, and goes out as part of that read's batch: no buffer of its own, no batch of its
 * own, no composite of slices. After a large frame was cut ({@value #ALIGN_MIN} bytes or more), read
 * buffers are sized in multiples of its length (at least the adaptive guess, so up to twice the
 * largest guess): a stream of frames of that length then fills each read with whole frames, and
 * nothing is cut or carried while the reads come back full. A read shorter than that length ends it.
 *
 * <p>The carried bytes go into the next buffer the channel allocates, so this is only for channels
 * that read into one buffer at a time and hand it on before they allocate the next (epoll, kqueue,
 * NIO, io_uring without a buffer ring; see {@link IoBackend#readsOneBufferAtATime()}); {@link
 * #arrived} fails a connection whose channel does otherwise rather than deliver its bytes out of
 * order. The bytes stay held here until the read carrying them is handed on: a read that gets
 * nothing, or is cancelled, leaves them to the next buffer. The {@link FrameBatchDecoder} learns from
 * {@link #arrived} how many carried bytes lead a read it is given, and never carries the same frame
 * twice: a peer dribbling a frame costs one copy of each byte, not one per read.
 *
 * <p>Read buffers larger than the allocator's thread cache takes ({@link #CACHED_MAX}) are kept for
 * reuse: the last {@value #KEPT} hold one reference of ours, and one whose frames were all released
 * (only our reference left) is read into again. Without that, each such buffer came from its arena,
 * and a pool chunk whose buffers were all released was freed and made again a moment later: the
 * allocation left on the read path of a large-frame stream. A kept buffer still holding frames is
 * not touched (its count is above one); when reads shrink to sizes the thread cache takes, or the
 * connection ends, the kept buffers are let go. The connections of one receiving transport share a
 * limit on the bytes they keep ({@link #KEPT_BYTES_PER_TRANSPORT}; a buffer beyond it is not kept),
 * so a thousand senders streaming large frames pin no more idle memory than one does.
 *
 * <p>One instance per channel, confined to its event loop. Owns the carried bytes until the read
 * carrying them is handed on, or until {@link #release()}; owns one reference to each kept buffer
 * until it is replaced, reads shrink, or {@link #releaseKept()} (which {@link #release()} calls).
 */
final class ReadBuffers implements RecvByteBufAllocator {
    /** Frames up to this length, length field included, are carried: as large as a read's buffer grows. */
    static final int CARRY_LIMIT = 256 * 1024;
    /** Frames from this length on, length field included, align the reads after them. */
    static final int ALIGN_MIN = 16 * 1024;
    /** Netty's pooled allocator caches freed buffers up to this size per thread; larger ones go back to their arena. */
    static final int CACHED_MAX = SystemPropertyUtil.getInt("io.netty.allocator.maxCachedBufferCapacity", 32 * 1024);
    /** How many large read buffers a connection keeps for reuse. */
    static final int KEPT = 4;
    /** How many bytes of kept read buffers the connections of one receiving transport hold together. */
    static final long KEPT_BYTES_PER_TRANSPORT = 8L * 1024 * 1024;
    private static final AdaptiveRecvByteBufAllocator SIZES = new AdaptiveRecvByteBufAllocator(4096, 64 * 1024, CARRY_LIMIT);

    /** The bytes to put in front of the next read, held until a read carrying them is handed on; or null. */
    private ByteBuf carry;
    /** The buffer the next read must hold at least: the whole cut frame. */
    private int carryCapacity;
    /**
     * The buffer last allocated with a copy of {@link #carry} in front, or null. A read that is handed
     * on in another buffer, got nothing or was cancelled leaves the bytes to the next buffer.
     */
    private ByteBuf carrier;
    /** The length that read sizes are a multiple of (the last cut frame's, if large), or 0. */
    private int alignment;
    /** The last large read buffers, each with one reference of ours, or null; the next to replace at {@link #nextKept}. */
    private final ByteBuf[] kept = new ByteBuf[KEPT];
    private int nextKept;
    private int keptCount;
    /** The bytes kept by all connections of this one's transport, at most {@link #keptLimit}. */
    private final AtomicLong keptBytes;
    private final long keptLimit;
    /** Set by {@link #releaseKept()}: the connection ended, buffers a read loop still allocates are not kept. */
    private boolean released;

    /**
     * @param keptBytes the bytes of read buffers kept by the connections of one transport; shared by them
     * @param keptLimit how many bytes they may keep together
     */
    ReadBuffers(AtomicLong keptBytes, long keptLimit) {
        this.keptBytes = keptBytes;
        this.keptLimit = keptLimit;
    }

    /** The sizes of read buffers when no frame is carried: 4 KiB to 256 KiB, adapted to the reads. */
    static RecvByteBufAllocator sizes() {
        return SIZES;
    }

    @Override
    public Handle newHandle() {
        return new CarryingHandle((ExtendedHandle) SIZES.newHandle());
    }

    /**
     * Puts {@code head}, the first bytes of a frame of {@code frameLength} bytes (length field
     * included; at most {@link #CARRY_LIMIT}), in front of the next read; takes over its reference.
     */
    void carry(ByteBuf head, int frameLength) {
        if (carry != null) {
            head.release();
            throw new IllegalStateException("a carried frame is still on its way to the next read");
        }
        carry = head;
        carryCapacity = frameLength;
        alignment = frameLength >= ALIGN_MIN ? frameLength : 0;
    }

    /**
     * How many carried bytes lead {@code in}, the buffer of the read being handed on: its first bytes
     * are the rest of the last read's cut frame. Zero if {@code in} carries none.
     *
     * @throws IllegalStateException if another buffer took the carried bytes: the channel handed on a
     *     read it allocated before the last one, and the byte stream is out of order
     */
    int arrived(ByteBuf in) {
        if (carry == null) {
            return 0;
        }
        int carried = carry.readableBytes();
        if (carrier != in) {
            throw new IllegalStateException("the channel handed on a read that it allocated before the read carrying "
                    + carried + " bytes of a cut frame; the connection's bytes would be out of order");
        }
        carrier = null;
        carry.release();
        carry = null;
        return carried;
    }

    /** Takes back carried bytes that no buffer was allocated for since (a read that does not come through here), or null. */
    ByteBuf unclaimed() {
        if (carrier != null) {
            return null;
        }
        ByteBuf head = carry;
        carry = null;
        return head;
    }

    /** Bytes of a cut frame held here for the next read. */
    int holding() {
        return carry != null ? carry.readableBytes() : 0;
    }

    /** Releases carried bytes that no read took, and the kept read buffers; for a connection that ends. */
    void release() {
        carrier = null;
        if (carry != null) {
            carry.release();
            carry = null;
        }
        releaseKept();
    }

    /**
     * Releases the kept read buffers, and keeps none from now on; for a channel that closed. Leaves
     * carried bytes to {@link #release()}: the decoder still counts them as a frame cut by the close.
     */
    void releaseKept() {
        released = true;
        letKeptGo();
    }

    /**
     * An empty buffer of at least {@code size} bytes for a read: a kept one whose frames were all
     * released (at most twice that size), or a new one, kept if it is larger than the thread cache takes.
     */
    private ByteBuf buffer(ByteBufAllocator alloc, int size) {
        if (size <= CACHED_MAX || released) {
            if (keptCount > 0) {
                letKeptGo(); // reads are small again: the thread cache serves them
            }
            return alloc.ioBuffer(size);
        }
        for (int i = 0; i < KEPT && keptCount > 0; i++) {
            ByteBuf buffer = kept[i];
            if (buffer == null) {
                continue;
            }
            int capacity = buffer.capacity();
            if (buffer.refCnt() == 1 && capacity >= size && capacity / 2 <= size) {
                return buffer.clear().retain(); // only our reference left: every frame sliced from it was released
            }
        }
        ByteBuf buffer = alloc.ioBuffer(size);
        ByteBuf oldest = kept[nextKept];
        if (oldest != null) { // still holding frames, or the wrong size: it goes back to the pool when they do
            keptBytes.addAndGet(-oldest.capacity());
            oldest.release();
            kept[nextKept] = null;
            keptCount--;
        }
        int bytes = buffer.capacity();
        if (keptBytes.addAndGet(bytes) > keptLimit) {
            keptBytes.addAndGet(-bytes); // the transport keeps enough already
        } else {
            kept[nextKept] = buffer.retain();
            nextKept = (nextKept + 1) % KEPT;
            keptCount++;
        }
        return buffer;
    }

    private void letKeptGo() {
        for (int i = 0; i < KEPT; i++) {
            ByteBuf buffer = kept[i];
            if (buffer != null) {
                keptBytes.addAndGet(-buffer.capacity());
                buffer.release();
                kept[i] = null;
            }
        }
        keptCount = 0;
        nextKept = 0;
    }

    /** Netty's adaptive handle, with the carried bytes put in front of the buffer it allocates next. */
    private final class CarryingHandle implements ExtendedHandle {
        private final ExtendedHandle sizes;
        /** Whether the current read round read any bytes. */
        private boolean readAny;

        CarryingHandle(ExtendedHandle sizes) {
            this.sizes = sizes;
        }

        /**
         * A buffer with room for at least the adaptive guess, so that a full read counts as one and the
         * guess grows as Netty's would; with the carried bytes in front, large enough for the whole cut
         * frame; and with a capacity in multiples of the alignment, if there is one.
         */
        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            ByteBuf head = carry;
            if (head == null) {
                return buffer(alloc, alignment == 0 ? sizes.guess() : aligned(sizes.guess()));
            }
            int room = head.readableBytes() + sizes.guess();
            ByteBuf buffer = buffer(alloc, Math.max(carryCapacity, alignment == 0 ? room : aligned(room)));
            buffer.writeBytes(head, head.readerIndex(), head.readableBytes());
            carrier = buffer;
            return buffer;
        }

        /** {@code size} rounded up to a multiple of the alignment. */
        private int aligned(int size) {
            return (size + alignment - 1) / alignment * alignment;
        }

        @Override
        public void lastBytesRead(int bytes) {
            if (bytes <= 0) {
                carrier = null; // nothing came: the read loop releases the buffer without handing it on
            } else {
                readAny = true;
                if (bytes < alignment) {
                    alignment = 0; // less than a frame of that length came: reads are no longer full of them
                }
            }
            sizes.lastBytesRead(bytes);
        }

        @Override
        public int guess() {
            return sizes.guess();
        }

        @Override
        public void reset(ChannelConfig config) {
            readAny = false;
            sizes.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            sizes.incMessagesRead(numMessages);
        }

        @Override
        public int lastBytesRead() {
            return sizes.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            sizes.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return sizes.attemptedBytesRead();
        }

        @Override
        public boolean continueReading() {
            return sizes.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return sizes.continueReading(maybeMoreDataSupplier);
        }

        /**
         * Ends a read round; one that read nothing (a busy-polling loop reads its busy connection before
         * anything has arrived, {@link EpollBusyPollStrategy}) leaves the guess alone, where Netty's would
         * shrink it to the minimum and make the next frame take several reads.
         */
        @Override
        public void readComplete() {
            if (!readAny) {
                return;
            }
            sizes.readComplete();
        }
    }
}
