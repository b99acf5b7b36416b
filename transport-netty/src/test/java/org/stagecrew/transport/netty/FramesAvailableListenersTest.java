package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Await;

/**
 * Frames-available listeners (issue 12 item 8): several coexist, each can be removed on its own,
 * one that throws does not silence the others, and all are told once of the transport's close.
 */
@Timeout(value = 60, unit = SECONDS)
class FramesAvailableListenersTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    Transport open() {
        return Transport.open(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build());
    }

    void sendOne(Transport from, Transport to) {
        from.send(to.address(), ByteBufAllocator.DEFAULT.directBuffer(4).writeInt(42), WAIT);
    }

    static void drain(Transport transport) {
        try (Frame frame = transport.receive(WAIT)) {
            assertTrue(frame != null, "the frame arrives");
        }
    }

    @Test
    void severalListenersCoexistOneThatThrowsDoesNotSilenceTheOthersAndEachCanBeRemoved() {
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        Runnable firstListener = first::incrementAndGet;
        try (Transport receiver = open(); Transport sender = open()) {
            FrameSignals.of(receiver).onFramesAvailable(() -> {
                throw new IllegalStateException("deliberate listener failure");
            });
            FrameSignals.of(receiver).onFramesAvailable(firstListener);
            FrameSignals.of(receiver).onFramesAvailable(second::incrementAndGet);

            sendOne(sender, receiver);
            Await.until("both listeners are called", WAIT, () -> first.get() == 1 && second.get() == 1);
            drain(receiver);

            assertTrue(FrameSignals.of(receiver).removeFramesAvailableListener(firstListener));
            assertFalse(FrameSignals.of(receiver).removeFramesAvailableListener(firstListener), "it was registered once");
            sendOne(sender, receiver);
            Await.until("the remaining listener is called", WAIT, () -> second.get() == 2);
            drain(receiver);
            assertEquals(1, first.get(), "a removed listener is not called");
            assertThrows(NullPointerException.class, () -> FrameSignals.of(receiver).onFramesAvailable(null));
        }
    }

    @Test
    void everyListenerIsCalledOnceWhenTheTransportCloses() {
        AtomicInteger calls = new AtomicInteger();
        Transport receiver = open();
        FrameSignals.of(receiver).onFramesAvailable(calls::incrementAndGet);

        receiver.close();
        receiver.close();

        assertEquals(1, calls.get());
    }
}
