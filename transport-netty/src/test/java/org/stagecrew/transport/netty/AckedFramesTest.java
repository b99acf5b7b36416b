package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.TransportException;

class AckedFramesTest {
    private static final int PAYLOAD = 100;

    @Test
    void smallFramesAreWrittenOneByOneWhileNoChunkCanBeAllocated() {
        AckedFrames frames = new AckedFrames();
        for (int i = 0; i < 4; i++) {
            frames.add(new AckedFrames.Held(frame(i), null));
        }
        ByteBufAllocator exhausted = new ExhaustedAllocator();
        List<ByteBuf> written = new ArrayList<>();
        try {
            written.add(frames.take(exhausted, Long.MAX_VALUE));
            written.add(frames.take(exhausted, Long.MAX_VALUE));
            assertEquals(2, frames.written(), "each take without memory writes one frame as it is");
            written.add(frames.take(PooledByteBufAllocator.DEFAULT, Long.MAX_VALUE));
            assertEquals(4, frames.written(), "with memory again, the rest go in one chunk");
            assertNull(frames.take(exhausted, Long.MAX_VALUE));

            assertEquals(Protocol.LENGTH_FIELD_LENGTH + PAYLOAD, written.get(0).readableBytes());
            assertEquals(Protocol.LENGTH_FIELD_LENGTH + PAYLOAD, written.get(1).readableBytes());
            assertEquals(2 * (Protocol.LENGTH_FIELD_LENGTH + PAYLOAD), written.get(2).readableBytes());
            ByteBuf all = PooledByteBufAllocator.DEFAULT.heapBuffer();
            try {
                written.forEach(w -> all.writeBytes(w, w.readerIndex(), w.readableBytes()));
                for (int i = 0; i < 4; i++) {
                    assertEquals(PAYLOAD, all.readInt(), "length field of frame " + i);
                    assertEquals(i, all.readLong(), "frames written in the order added");
                    all.skipBytes(PAYLOAD - Long.BYTES);
                }
            } finally {
                all.release();
            }
        } finally {
            written.forEach(ByteBuf::release);
            frames.end(new TransportException("test ends")).forEach(h -> h.frame.release());
        }
    }

    private static ByteBuf frame(long sequence) {
        return PooledByteBufAllocator.DEFAULT.directBuffer(Protocol.LENGTH_FIELD_LENGTH + PAYLOAD)
                .writeInt(PAYLOAD).writeLong(sequence).writeZero(PAYLOAD - Long.BYTES);
    }
}
