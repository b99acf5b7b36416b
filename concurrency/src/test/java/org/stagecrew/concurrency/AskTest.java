package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.UnknownAddressException;
import org.stagecrew.transport.test.Await;

/** {@link Ask}: replies, timeouts, late replies, the envelope's bytes, failed sends. */
@Timeout(value = 30, unit = SECONDS)
class AskTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    Transport client;
    Ask ask;
    Thread pump;
    /** Released by a test to let the server answer a request it holds back. */
    final CountDownLatch release = new CountDownLatch(1);

    TransportConfig local() {
        return TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build();
    }

    @BeforeEach
    void openClient() {
        client = Transport.open(local());
        ask = new Ask(client);
        // The application's receive loop: replies go to the Ask, nothing else is expected.
        pump = new Thread(() -> {
            while (client.isOpen()) {
                try (Frame frame = client.receive(Duration.ofMillis(200))) {
                    if (frame != null && !ask.complete(frame)) {
                        throw new AssertionError("unexpected frame from " + frame.sender());
                    }
                } catch (org.stagecrew.transport.TransportClosedException closed) {
                    return;
                }
            }
        }, "ask-pump");
        pump.start();
    }

    @AfterEach
    void close() throws InterruptedException {
        ask.close();
        client.close();
        pump.join(WAIT.toMillis());
    }

    static ByteBuf utf8(String s) {
        return ByteBufUtil.writeUtf8(PooledByteBufAllocator.DEFAULT, s);
    }

    /** A unit that answers each request with its payload upper-cased; "slow" waits for {@link #release}, "mute" gets none. */
    Concurrency server() {
        return Concurrency.thread(ctx -> {
            while (!ctx.isStopRequested()) {
                try (Frame frame = ctx.transport().receive(Duration.ofSeconds(1))) {
                    if (frame == null || !Ask.isRequest(frame)) {
                        continue;
                    }
                    String text = Ask.body(frame).toString(StandardCharsets.UTF_8);
                    if (text.equals("mute")) {
                        continue;
                    }
                    if (text.equals("slow")) {
                        release.await();
                    }
                    Ask.reply(ctx.transport(), frame, utf8(text.toUpperCase(Locale.ROOT))).get(WAIT.toSeconds(), SECONDS);
                }
            }
        }).transportConfig(local()).start();
    }

    @Test
    void anAskIsCompletedByItsReply() throws Exception {
        try (Concurrency server = server()) {
            CompletableFuture<Frame> a = ask.ask(server.address(), utf8("hello"), WAIT);
            CompletableFuture<Frame> b = ask.ask(server.address(), utf8("world"), WAIT);
            try (Frame ra = a.get(WAIT.toSeconds(), SECONDS); Frame rb = b.get(WAIT.toSeconds(), SECONDS)) {
                assertEquals("HELLO", ra.payload().toString(StandardCharsets.UTF_8));
                assertEquals("WORLD", rb.payload().toString(StandardCharsets.UTF_8));
                assertEquals(server.address(), ra.sender());
                assertTrue(ra.isOwned());
            }
            assertEquals(0, ask.pending());
            assertEquals(0, ask.lateReplies());
        }
    }

    @Test
    void noReplyWithinTheTimeoutFailsTyped() throws Exception {
        try (Concurrency server = server()) {
            CompletableFuture<Frame> a = ask.ask(server.address(), utf8("mute"), Duration.ofMillis(100));
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(WAIT.toSeconds(), SECONDS));
            AskTimeoutException timeout = assertInstanceOf(AskTimeoutException.class, e.getCause());
            assertTrue(timeout.getMessage().contains(server.address().toString()) && timeout.getMessage().contains("100 ms"),
                    timeout.getMessage());
            assertEquals(1, ask.timedOut());
            assertEquals(0, ask.pending());
        }
    }

    @Test
    void aLateReplyIsDroppedAndCounted() throws Exception {
        try (Concurrency server = server()) {
            CompletableFuture<Frame> a = ask.ask(server.address(), utf8("slow"), Duration.ofMillis(100));
            assertInstanceOf(AskTimeoutException.class, assertThrows(ExecutionException.class,
                    () -> a.get(WAIT.toSeconds(), SECONDS)).getCause());
            release.countDown(); // now the server answers
            Await.until("the late reply is counted", WAIT, () -> ask.lateReplies() == 1);
            try (Frame r = ask.ask(server.address(), utf8("after"), WAIT).get(WAIT.toSeconds(), SECONDS)) {
                assertEquals("AFTER", r.payload().toString(StandardCharsets.UTF_8), "later asks are not confused by it");
            }
        }
    }

    @Test
    void anAskToNobodyFailsAtOnceWithTheSendsReason() {
        Address nobody = Address.of(dir.resolve("nobody.sock"));
        CompletableFuture<Frame> a = ask.ask(nobody, utf8("x"), Duration.ofMinutes(5));
        ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(WAIT.toSeconds(), SECONDS));
        assertInstanceOf(UnknownAddressException.class, e.getCause());
        assertEquals(0, ask.timedOut());
    }

    @Test
    void theEnvelopeIsMagicKindAndABigEndianId() throws Exception {
        try (Transport peer = Transport.open(local())) {
            CompletableFuture<Frame> answer = ask.ask(peer.address(), utf8("ab"), WAIT);
            try (Frame request = peer.receive(WAIT)) {
                byte[] bytes = ByteBufUtil.getBytes(request.payload());
                assertArrayEquals(new byte[] {0x53, 0x4B, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b'}, bytes);
                // A peer in another language answers with kind 0x02 and the same id.
                ByteBuf reply = PooledByteBufAllocator.DEFAULT.buffer().writeBytes(new byte[] {0x53, 0x4B, 0x02, 0, 0, 0, 0, 0, 0, 0, 1, 'o', 'k'});
                peer.send(request.sender(), reply).get(WAIT.toSeconds(), SECONDS);
            }
            try (Frame ok = answer.get(WAIT.toSeconds(), SECONDS)) {
                assertEquals("ok", ok.payload().toString(StandardCharsets.UTF_8), "a hand-made reply completes the ask");
            }
        }
    }

    @Test
    void framesWithoutAReplyEnvelopeAreLeftToTheCaller() {
        try (FakeFrame f = new FakeFrame(utf8("plain"))) {
            assertFalse(Ask.isRequest(f));
        }
        try (FakeFrame f = new FakeFrame(utf8("SK\u0002short"))) {
            assertFalse(ask.complete(f), "too short for a header");
        }
    }

    /** An owned frame around a buffer, for envelope checks without a transport. */
    static final class FakeFrame implements Frame {
        final ByteBuf payload;

        FakeFrame(ByteBuf payload) {
            this.payload = payload;
        }

        @Override
        public Address sender() {
            return Address.of("/tmp/fake.sock");
        }

        @Override
        public org.stagecrew.transport.PeerCredentials credentials() {
            return null;
        }

        @Override
        public ByteBuf payload() {
            return payload;
        }

        @Override
        public boolean isOwned() {
            return true;
        }

        @Override
        public Frame retain() {
            return new FakeFrame(payload.retainedSlice());
        }

        @Override
        public Frame copy() {
            return new FakeFrame(payload.copy());
        }

        @Override
        public void close() {
            if (payload.refCnt() > 0) {
                payload.release();
            }
        }
    }
}
