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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
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

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void aBusyPollingHandlersAnswerIsWrittenBeforeTheHandlerReturns(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        List<Transport> echo = new CopyOnWriteArrayList<>();
        CountDownLatch answerReceived = new CountDownLatch(1);
        BlockingQueue<Boolean> receivedWhileHandlerRan = new LinkedBlockingQueue<>();
        try (Transport echoer = Transport.open(config(mode).busyPoll(true).eventLoopHandler(frame -> {
                    ByteBuf payload = frame.payload();
                    echo.get(0).offer(frame.sender(), payload, payload.readerIndex(), payload.readableBytes());
                    if (payload.toString(UTF_8).equals("hello")) {
                        return; // the first answer also opens the connection back, which a handler cannot wait for
                    }
                    try {
                        // Queued as a task, the answer would leave only after this handler returned: 5 s from now.
                        receivedWhileHandlerRan.add(answerReceived.await(5, SECONDS));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }).build());
                Transport pinger = Transport.open(config(mode).build())) {
            echo.add(echoer);
            pinger.send(echoer.address(), utf8("hello"), WAIT);
            try (Frame answer = pinger.receive(WAIT)) {
                assertNotNull(answer, "no answer to the first frame within " + WAIT);
            }
            pinger.send(echoer.address(), utf8("ping"), WAIT);

            try (Frame answer = pinger.receive(WAIT)) {
                assertNotNull(answer, "no answer within " + WAIT);
                assertEquals("ping", answer.payload().toString(UTF_8));
            }
            answerReceived.countDown();
            assertEquals(Boolean.TRUE, receivedWhileHandlerRan.poll(WAIT.toSeconds(), SECONDS),
                    "the answer reached the pinger only after the busy-polling handler returned");
        }
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void aBurstAndFutureChainsSentFromABusyPollingHandlerArriveWholeAndInOrder(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        int burst = 500;
        int chain = 200;
        List<Transport> self = new CopyOnWriteArrayList<>();
        try (Transport first = Transport.open(config(mode).build()); Transport second = Transport.open(config(mode).build());
                Transport trigger = Transport.open(config(mode).build());
                Transport busy = Transport.open(config(mode).busyPoll(true).eventLoopHandler(frame -> {
                    // A burst: the first frame goes out from the handler, the rest in the next pass, in order.
                    for (int i = 0; i < burst; i++) {
                        ByteBuf text = utf8("burst " + i);
                        try { // a refused offer shows as a missing frame below
                            self.get(0).offer(first.address(), text, text.readerIndex(), text.readableBytes());
                        } finally {
                            text.release();
                        }
                    }
                    // Sends from the listeners of futures completed inside a pass, alternating two destinations.
                    sendChain(self.get(0), first.address(), second.address(), 0, chain);
                }).build())) {
            self.add(busy);
            trigger.send(busy.address(), utf8("go"), WAIT);

            for (int i = 0; i < burst; i++) {
                try (Frame frame = first.receive(WAIT)) {
                    assertNotNull(frame, "burst frame " + i + " did not arrive within " + WAIT);
                    assertEquals("burst " + i, frame.payload().toString(UTF_8));
                }
            }
            for (int i = 0; i < chain; i++) {
                try (Frame frame = (i % 2 == 0 ? first : second).receive(WAIT)) {
                    assertNotNull(frame, "chained frame " + i + " did not arrive within " + WAIT);
                    assertEquals("chain " + i, frame.payload().toString(UTF_8));
                }
            }
        }
    }

    /** Sends frame {@code i} to {@code a} or {@code b}, and from its future's completion the next one. */
    private static void sendChain(Transport from, Address a, Address b, int i, int count) {
        if (i < count) {
            from.send(i % 2 == 0 ? a : b, utf8("chain " + i)).thenRun(() -> sendChain(from, a, b, i + 1, count));
        }
    }
}
