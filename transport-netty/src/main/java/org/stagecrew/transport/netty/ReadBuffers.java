package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * The read buffers of one accepted connection: sized by Netty's adaptive guess, except that the
 * bytes of a frame that the last read cut short are carried to the front of the next read's buffer,
 * which is made large enough for the whole frame. So a frame cut by the end of a read arrives whole
 * in the next one, and goes out as part of that read's batch: no buffer of its own, no batch of its
 * own, no composite of slices. After a large frame was cut ({@value #ALIGN_MIN} bytes or more), read
 * buffers are sized in multiples of its length (at least the adaptive guess, so up to twice the
 * largest guess): a stream of frames of that length then fills each read with whole frames, and
 * nothing is cut or carried while the reads come back full.
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
 * <p>One instance per channel, confined to its event loop. Owns the carried bytes until the read
 * carrying them is handed on, or until {@link #release()}.
 */
final class ReadBuffers implements RecvByteBufAllocator {
    /** Frames up to this length, length field included, are carried: as large as a read's buffer grows. */
    static final int CARRY_LIMIT = 256 * 1024;
    /** Frames from this length on, length field included, align the reads after them. */
    static final int ALIGN_MIN = 16 * 1024;
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

    /** Releases carried bytes that no read took; for a connection that ends. */
    void release() {
        carrier = null;
        if (carry != null) {
            carry.release();
            carry = null;
        }
    }

    /** Netty's adaptive handle, with the carried bytes put in front of the buffer it allocates next. */
    private final class CarryingHandle implements ExtendedHandle {
        private final ExtendedHandle sizes;

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
                return alignment == 0 ? sizes.allocate(alloc) : alloc.ioBuffer(aligned(sizes.guess()));
            }
            int room = head.readableBytes() + sizes.guess();
            ByteBuf buffer = alloc.ioBuffer(Math.max(carryCapacity, alignment == 0 ? room : aligned(room)));
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
            }
            sizes.lastBytesRead(bytes);
        }

        @Override
        public int guess() {
            return sizes.guess();
        }

        @Override
        public void reset(ChannelConfig config) {
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

        @Override
        public void readComplete() {
            sizes.readComplete();
        }
    }
}
