package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.FrameSignals;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * The opt-in low-latency configuration: {@link TransportConfig#busyPoll()} event loops and an
 * {@link TransportConfig#eventLoopHandler()} that gets frames on the event loop, without the inbox.
 */
@Timeout(value = 60, unit = SECONDS)
class LowLatencyModeTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private TransportConfig.Builder config(IoMode mode) {
        return TransportConfig.builder().socketDirectory(dir).ioMode(mode);
    }

    private static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(PooledByteBufAllocator.DEFAULT, text);
    }

    /** What an event-loop handler saw: the text, the sender and the thread it ran on. */
    record Seen(String text, Address sender, String thread) {
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "IO_URING", "LOCAL"})
    void anEventLoopHandlerGetsEveryFrameInOrderOnTheEventLoopWithItsSender(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
        try (Transport receiver = Transport.open(config(mode).eventLoopHandler(frame -> seen.add(
                        new Seen(frame.payload().toString(UTF_8), frame.sender(), Thread.currentThread().getName()))).build());
                Transport sender = Transport.open(config(mode).build())) {
            for (int i = 0; i < 1000; i++) {
                sender.send(receiver.address(), utf8("frame " + i), WAIT);
            }

            for (int i = 0; i < 1000; i++) {
                Seen frame = seen.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(frame, "frame " + i + " did not reach the event-loop handler within " + WAIT);
                assertEquals("frame " + i, frame.text());
                assertEquals(sender.address(), frame.sender());
                assertTrue(frame.thread().startsWith("stagecrew-"), "handled on " + frame.thread() + ", not an event loop");
            }
            assertFalse(FrameSignals.of(receiver).hasFrames(), "frames for the event-loop handler must not also reach the inbox");
        }
    }

    @Test
    void pollAndReceiveSayThatFramesGoToTheEventLoopHandler() {
        try (Transport receiver = Transport.open(config(IoMode.AUTO).eventLoopHandler(frame -> { }).build())) {
            IllegalStateException polled = assertThrows(IllegalStateException.class, () -> receiver.poll(frame -> { }, 1));
            assertTrue(polled.getMessage().contains("eventLoopHandler") && polled.getMessage().contains(receiver.address().path()),
                    polled.getMessage());
            assertThrows(IllegalStateException.class, () -> receiver.receive(Duration.ofMillis(1)));
        }
    }

    @Test
    void aHandlerThatThrowsLosesOnlyThatFrame() throws Exception {
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (Transport receiver = Transport.open(config(IoMode.AUTO).eventLoopHandler(frame -> {
                    String text = frame.payload().toString(UTF_8);
                    if (text.equals("boom")) {
                        throw new IllegalStateException("handler failure on purpose");
                    }
                    seen.add(text);
                }).build());
                Transport sender = Transport.open(config(IoMode.AUTO).build())) {
            for (String text : List.of("before", "boom", "after")) {
                sender.send(receiver.address(), utf8(text), WAIT);
            }

            assertEquals("before", seen.poll(WAIT.toSeconds(), SECONDS));
            assertEquals("after", seen.poll(WAIT.toSeconds(), SECONDS));
        }
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "NIO"})
    void busyPollingTransportsAnswerEachOtherFromTheirEventLoops(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        List<Transport> echo = new CopyOnWriteArrayList<>();
        BlockingQueue<String> answers = new LinkedBlockingQueue<>();
        try (Transport echoer = Transport.open(config(mode).busyPoll(true).eventLoopHandler(frame -> {
                    // An offer never blocks the event loop; a refused one shows as a missing answer below.
                    ByteBuf payload = frame.payload();
                    echo.get(0).offer(frame.sender(), payload, payload.readerIndex(), payload.readableBytes());
                }).build());
                Transport pinger = Transport.open(config(mode).busyPoll(true).eventLoopHandler(frame ->
                        answers.add(frame.payload().toString(UTF_8))).build())) {
            echo.add(echoer);
            for (int i = 0; i < 200; i++) {
                // Each ping from a thread other than the event loop: busy polling must still see its task.
                pinger.send(echoer.address(), utf8("ping " + i), WAIT);
                assertEquals("ping " + i, answers.poll(WAIT.toSeconds(), SECONDS), "answer to ping " + i);
            }
        }
    }

    /**
     * On a busy-polling loop a send made by the event-loop handler is written at once, not after the
     * handler and the rest of the loop's round: the echoer's handler answers and then waits for the
     * pinger (on its own loop) to have the answer.
     */
    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "NIO"})
    void aBusyPollingHandlersAnswerLeavesBeforeTheHandlerReturns(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        List<Transport> echo = new CopyOnWriteArrayList<>();
        BlockingQueue<String> answers = new LinkedBlockingQueue<>();
        CountDownLatch heldAnswer = new CountDownLatch(1);
        BlockingQueue<Boolean> answeredWhileHeld = new LinkedBlockingQueue<>();
        try (Transport echoer = Transport.open(config(mode).busyPoll(true).eventLoopHandler(frame -> {
                    ByteBuf payload = frame.payload();
                    boolean hold = payload.toString(UTF_8).equals("held");
                    echo.get(0).offer(frame.sender(), payload, payload.readerIndex(), payload.readableBytes());
                    if (hold) {
                        try {
                            answeredWhileHeld.add(heldAnswer.await(2, SECONDS));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }).build());
                Transport pinger = Transport.open(config(mode).busyPoll(true).eventLoopHandler(frame -> {
                    String text = frame.payload().toString(UTF_8);
                    answers.add(text);
                    if (text.equals("held")) {
                        heldAnswer.countDown();
                    }
                }).build())) {
            echo.add(echoer);
            pinger.send(echoer.address(), utf8("ping"), WAIT); // connects both ways
            assertEquals("ping", answers.poll(WAIT.toSeconds(), SECONDS));

            pinger.send(echoer.address(), utf8("held"), WAIT);
            assertEquals("held", answers.poll(WAIT.toSeconds(), SECONDS));
            assertEquals(Boolean.TRUE, answeredWhileHeld.poll(WAIT.toSeconds(), SECONDS),
                    "the answer reached the pinger while the echoer's handler still ran");
        }
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"IO_URING", "LOCAL"})
    void busyPollIsRefusedByAModeThatCannotPollWithoutBlockingAndLeavesNoSocketFile(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        TransportException e = assertThrows(TransportException.class,
                () -> Transport.open(config(mode).busyPoll(true).fileName("busy.sock").build()).close());
        assertTrue(e.getMessage().contains("busyPoll") && e.getMessage().contains(mode.name())
                && e.getMessage().contains("EPOLL"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("busy.sock")), "a refused open must not leave its socket file");
    }

    @Test
    void aFrameHandedToTheEventLoopHandlerCanBeRetainedBeyondTheCall() throws Exception {
        BlockingQueue<Frame> kept = new LinkedBlockingQueue<>();
        try (Transport receiver = Transport.open(config(IoMode.AUTO).eventLoopHandler(frame -> kept.add(frame.retain())).build());
                Transport sender = Transport.open(config(IoMode.AUTO).build())) {
            sender.send(receiver.address(), utf8("keep me"), WAIT);

            try (Frame frame = kept.poll(WAIT.toSeconds(), SECONDS)) {
                assertNotNull(frame, "no frame within " + WAIT);
                assertTrue(frame.isOwned());
                assertEquals("keep me", frame.payload().toString(UTF_8));
            }
        }
    }
}
