package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReusablePromiseTest {
    /** Records what the channel reported, as WriteCompletion would act on it. */
    static final class Recording extends ReusablePromise {
        final List<Long> progress = new ArrayList<>();
        final List<Throwable> outcomes = new ArrayList<>();
        int completions;

        @Override
        void progressed(long written) {
            progress.add(written);
        }

        @Override
        void completed(Throwable failure) {
            completions++;
            outcomes.add(failure);
        }
    }

    @Test
    void oneObjectCarriesWriteAfterWriteAndHearsEachOutcomeOnce() {
        EmbeddedChannel channel = new EmbeddedChannel();
        Recording promise = new Recording();
        for (int i = 1; i <= 3; i++) {
            channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {(byte) i}), promise.reset(channel));
            assertEquals(i, promise.completions, "write " + i + " completed once");
            assertTrue(promise.isSuccess());
            assertNull(promise.outcomes.get(i - 1));
            ByteBuf written = channel.readOutbound();
            assertEquals(i, written.getByte(0));
            written.release();
        }
        assertFalse(promise.trySuccess(), "a completed write cannot complete again");
        assertEquals(3, promise.completions);
        channel.finishAndReleaseAll();
    }

    @Test
    void aWriteToAClosedChannelFailsWithTheChannelsCauseAndTheBufferIsReleased() {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.close();
        Recording promise = new Recording();
        ByteBuf buf = Unpooled.buffer(4).writeInt(7);
        channel.writeAndFlush(buf, promise.reset(channel));
        assertEquals(1, promise.completions);
        assertInstanceOf(ClosedChannelException.class, promise.outcomes.get(0));
        assertSame(promise.outcomes.get(0), promise.cause());
        assertFalse(promise.isSuccess());
        assertEquals(0, buf.refCnt(), "the channel released what it could not write");
    }

    @Test
    void itTakesNoListenersAndCannotBeWaitedForSoThatNobodyHoldsItPastItsWrite() {
        Recording promise = new Recording();
        promise.reset(new EmbeddedChannel());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> promise.addListener(f -> { }));
        assertTrue(e.getMessage().contains("no listeners"), e.getMessage());
        assertThrows(IllegalStateException.class, promise::await);
        assertThrows(IllegalStateException.class, promise::syncUninterruptibly);
        assertTrue(promise.setUncancellable(), "the channel must be able to make it uncancellable");
        assertFalse(promise.cancel(true));
        assertFalse(promise.isDone());
    }

    @Test
    void progressIsPassedOnUntilTheWriteCompletes() {
        Recording promise = new Recording();
        promise.reset(new EmbeddedChannel());
        assertTrue(promise.tryProgress(3, 10));
        assertTrue(promise.tryProgress(7, 10));
        assertTrue(promise.tryFailure(new ClosedChannelException()));
        assertFalse(promise.tryProgress(10, 10), "no progress after the outcome");
        assertEquals(List.of(3L, 7L), promise.progress);
        assertThrows(IllegalStateException.class, promise::setSuccess, "completing twice is a bug, not a silent no-op");
    }
}
