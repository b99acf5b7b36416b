package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.test.Background;
import org.stagecrew.transport.test.SequencedFrames;

/** The contract's delivery part: round trips, per-sender order, and every frame length up to the maximum. */
abstract class DeliveryContract extends ContractSupport {

    @Nested
    class RoundTrip {

        @Test
        void roundTripCarriesTheSenderAddress() throws Exception {
            try (Transport a = open(); Transport b = open()) {
                a.send(b.address(), utf8("ping")).get(WAIT.toSeconds(), SECONDS);

                try (Frame ping = receive(b)) {
                    assertEquals(a.address(), ping.sender());
                    assertEquals("ping", ping.payload().toString(UTF_8));
                    assertTrue(ping.isOwned(), "receive() hands out owned frames");
                    b.send(ping.sender(), utf8("pong")).get(WAIT.toSeconds(), SECONDS);
                }
                try (Frame pong = receive(a)) {
                    assertEquals(b.address(), pong.sender());
                    assertEquals("pong", pong.payload().toString(UTF_8));
                }
            }
        }

        @Test
        void eachTransportHasItsOwnAddressInTheConfiguredDirectoryWithASocketFileIfTheModeUsesFiles() {
            try (Transport a = open(); Transport b = open()) {
                assertFalse(a.address().equals(b.address()), "two transports share " + a.address());
                assertFalse(a.address().isAbstract(), "abstract names are opt-in");
                assertEquals(dir, a.address().toPath().getParent());
                assertEquals(mode().usesSocketFiles(), Files.exists(a.address().toPath(), LinkOption.NOFOLLOW_LINKS),
                        "a socket file exists exactly when IoMode." + mode() + " uses socket files");
                assertEquals(mode(), a.config().ioMode());
                assertTrue(a.isOpen());
            }
        }

        @Test
        void pollHandsOutViewsThatCanBeRetainedOrCopiedBeyondTheHandler() throws Exception {
            try (Transport a = open(); Transport b = open()) {
                a.send(b.address(), utf8("first"), WAIT);
                a.send(b.address(), utf8("second"), WAIT);
                List<Frame> kept = new ArrayList<>();
                List<Boolean> owned = new ArrayList<>();
                try {
                    for (int polls = 0; kept.size() < 2 && polls < 10; polls++) {
                        b.poll(frame -> {
                            owned.add(frame.isOwned());
                            kept.add(kept.isEmpty() ? frame.retain() : frame.copy());
                        }, 2, WAIT);
                    }
                    assertEquals(2, kept.size(), "frames polled");
                    assertEquals(List.of(false, false), owned, "poll hands out views");
                    assertEquals("first", kept.get(0).payload().toString(UTF_8));
                    assertEquals("second", kept.get(1).payload().toString(UTF_8));
                    assertTrue(kept.get(0).isOwned() && kept.get(1).isOwned(), "retain() and copy() return owned frames");
                    assertEquals(a.address(), kept.get(1).sender());
                } finally {
                    kept.forEach(Frame::close);
                }
            }
        }
    }


    @Nested
    class Ordering {

        @Test
        void aHundredThousandFramesArriveInOrder() throws Exception {
            int frames = 100_000;
            try (Transport a = open(); Transport b = open()) {
                CompletableFuture<Void> sender = sendSequenced(a, b.address(), 0, frames);

                SequencedFrames.Checker checker = new SequencedFrames.Checker(1, true);
                drain(b, checker, frames, List.of(sender));

                assertEquals(frames, checker.inOrder(0));
            }
        }

        @Test
        void framesFromEightTransportsArriveIntactAndInOrderPerSender() throws Exception {
            int threads = 8;
            int frames = 10_000;
            try (Transport receiver = open(); OpenTransports senders = new OpenTransports()) {
                List<CompletableFuture<Void>> sending = new ArrayList<>();
                for (int source = 0; source < threads; source++) {
                    sending.add(sendSequenced(senders.add(open()), receiver.address(), source, frames));
                }

                SequencedFrames.Checker checker = new SequencedFrames.Checker(threads, true);
                drain(receiver, checker, (long) threads * frames, sending);

                for (int source = 0; source < threads; source++) {
                    assertEquals(frames, checker.inOrder(source), "frames in order from source " + source);
                }
            }
        }

        @Test
        void framesFromEightThreadsSharingOneTransportArriveInOrderPerThread() throws Exception {
            int threads = 8;
            int frames = 10_000;
            try (Transport receiver = open(); Transport shared = open()) {
                List<CompletableFuture<Void>> sending = new ArrayList<>();
                for (int source = 0; source < threads; source++) {
                    sending.add(sendSequenced(shared, receiver.address(), source, frames));
                }

                SequencedFrames.Checker checker = new SequencedFrames.Checker(threads, false);
                drain(receiver, checker, (long) threads * frames, sending);

                for (int source = 0; source < threads; source++) {
                    assertEquals(frames, checker.inOrder(source), "frames in order from thread " + source);
                }
            }
        }

        private CompletableFuture<Void> sendSequenced(Transport from, Address to, int source, int frames) {
            return Background.run("sender-" + source, () -> {
                for (long seq = 0; seq < frames; seq++) {
                    from.send(to, SequencedFrames.payload(source, seq), WAIT);
                }
            });
        }

        /** Polls on the test thread until {@code expected} frames passed the checker. */
        private void drain(Transport receiver, SequencedFrames.Checker checker, long expected,
                List<CompletableFuture<Void>> senders) throws Exception {
            while (checker.received() < expected) {
                int handled = receiver.poll(checker, 4096, WAIT);
                assertNull(checker.firstError(), checker::firstError);
                if (handled == 0) {
                    for (CompletableFuture<Void> sender : senders) {
                        if (sender.isCompletedExceptionally()) {
                            fail("a sender failed after " + checker.received() + " of " + expected + " frames",
                                    assertFailsWith(Throwable.class, sender));
                        }
                    }
                    fail("no frame arrived within " + WAIT + " after " + checker.received() + " of " + expected);
                }
            }
            assertEquals(expected, checker.received(), "frames received");
            for (CompletableFuture<Void> sender : senders) {
                sender.get(WAIT.toSeconds(), SECONDS);
            }
        }
    }

    @Nested
    class FrameLengths {

        @Test
        void anEmptyFrameArrivesEmpty() throws Exception {
            try (Transport a = open(); Transport b = open()) {
                a.send(b.address(), ByteBufAllocator.DEFAULT.directBuffer(0)).get(WAIT.toSeconds(), SECONDS);
                a.send(b.address(), utf8("after")).get(WAIT.toSeconds(), SECONDS);

                try (Frame empty = receive(b)) {
                    assertEquals(0, empty.payload().readableBytes());
                    assertEquals(a.address(), empty.sender());
                }
                try (Frame after = receive(b)) {
                    assertEquals("after", after.payload().toString(UTF_8));
                }
            }
        }

        @Test
        void anEightMebibyteFrameArrivesByteForByte() throws Exception {
            byte[] expected = new byte[8 * 1024 * 1024];
            new Random(42).nextBytes(expected);
            try (Transport a = open(); Transport b = open()) {
                a.send(b.address(), direct(expected)).get(WAIT.toSeconds(), SECONDS);

                try (Frame big = receive(b)) {
                    assertEquals(expected.length, big.payload().readableBytes());
                    assertArrayEquals(expected, ByteBufUtil.getBytes(big.payload()));
                }
            }
        }

        @Test
        void aFrameAboveTheReceiversMaximumFailsItsSendAndTheReceiverKeepsServing() throws Exception {
            try (Transport receiver = open(config().maxFrameLength(1024));
                    Transport bigSender = open(config().maxFrameLength(1 << 20));
                    Transport other = open()) {
                CompletableFuture<Void> tooBig = bigSender.send(receiver.address(), direct(new byte[2048]));

                TransportException failure = assertFailsWith(TransportException.class, tooBig);
                if (failure instanceof PeerRejectedException || failure instanceof FrameTooLargeException) {
                    assertMentions(failure, "2048");
                }

                other.send(receiver.address(), utf8("still serving")).get(WAIT.toSeconds(), SECONDS);
                try (Frame frame = receive(receiver)) {
                    assertEquals(other.address(), frame.sender());
                    assertEquals("still serving", frame.payload().toString(UTF_8));
                }
            }
        }

        @Test
        void aFrameAboveTheSendersOwnMaximumIsRefusedAtOnce() throws Exception {
            try (Transport receiver = open(); Transport sender = open(config().maxFrameLength(1024))) {
                Address to = receiver.address();

                ByteBuf viaFuture = Unpooled.buffer(1025).writeZero(1025);
                FrameTooLargeException futureFailure = assertRefusedAtOnce(() -> sender.send(to, viaFuture));
                assertEquals(1025, futureFailure.length());
                assertEquals(1024, futureFailure.maxFrameLength());
                assertMentions(futureFailure, "1025", "1024", to.path());
                assertEquals(0, viaFuture.refCnt(), "the transport releases a refused payload");

                ByteBuf viaBlocking = Unpooled.buffer(1025).writeZero(1025);
                assertThrows(FrameTooLargeException.class, () -> sender.send(to, viaBlocking, WAIT));
                assertEquals(0, viaBlocking.refCnt(), "the transport releases a refused payload");

                ByteBuf viaOffer = Unpooled.buffer(1025).writeZero(1025);
                assertThrows(FrameTooLargeException.class, () -> sender.offer(to, viaOffer));
                assertEquals(0, viaOffer.refCnt(), "offer releases a payload it refuses as too large");

                // Exactly the maximum is fine, and it is the first frame to arrive: nothing oversized leaked through.
                sender.send(to, direct(new byte[1024])).get(WAIT.toSeconds(), SECONDS);
                try (Frame frame = receive(receiver)) {
                    assertEquals(1024, frame.payload().readableBytes());
                }
            }
        }

        private FrameTooLargeException assertRefusedAtOnce(java.util.function.Supplier<CompletableFuture<Void>> send) {
            CompletableFuture<Void> future;
            try {
                future = send.get();
            } catch (FrameTooLargeException e) {
                return e;
            }
            assertTrue(future.isCompletedExceptionally(), "an oversized send must fail at once, not later");
            return assertFailsWith(FrameTooLargeException.class, future);
        }
    }
}
