package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongToIntFunction;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.ConnectionRefusedException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.UnknownAddressException;
import org.stagecrew.transport.test.Await;
import org.stagecrew.transport.test.Background;
import org.stagecrew.transport.test.SequencedFrames;

/**
 * The behaviour every {@link Transport} promises, written once and run for each {@link IoMode} by a
 * ten-line subclass. Every transport lives in a JUnit temporary directory (short enough for
 * {@code sun_path}); every wait has a timeout; every owned frame is closed, and
 * {@code LeakDetectionExtension} fails a test whose buffers leak.
 *
 * <p>A mode that cannot run on this machine is skipped test by test with its
 * {@link IoMode#unavailabilityCause()} as the reason. Tests about socket files on disk (stale files,
 * unlinking, permissions) are skipped for {@link IoMode#LOCAL}, which binds none; every other test
 * runs in LOCAL too, which still validates address lengths and reports unknown and busy addresses.
 */
@Timeout(value = 60, unit = SECONDS)
abstract class TransportContractTest {

    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** The I/O mode under test. */
    protected abstract IoMode mode();

    @BeforeEach
    void requireAvailableMode() {
        assumeAvailable(mode());
    }

    /**
     * Skips the calling test if {@code mode} cannot run here, with the reason. Deliberately per test
     * and not in a {@code @BeforeAll}: Surefire reports an aborted class as "Tests run: 0", that is,
     * silently, while skipped tests are counted.
     */
    static void assumeAvailable(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available on "
                + System.getProperty("os.name") + ": " + mode.unavailabilityCause());
    }

    /** Skips a test about socket files on disk for a mode that binds none (LOCAL). */
    void assumeSocketFiles(String subject) {
        Assumptions.assumeTrue(mode().usesSocketFiles(), () -> "IoMode." + mode()
                + " binds no socket file (in-JVM channels), so there are no " + subject + " to test");
    }

    TransportConfig.Builder config() {
        return TransportConfig.builder().socketDirectory(dir).ioMode(mode());
    }

    Transport open() {
        return Transport.open(config().build());
    }

    Transport open(TransportConfig.Builder config) {
        return Transport.open(config.build());
    }

    static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    static ByteBuf direct(byte[] bytes) {
        return ByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
    }

    /** Returns the next owned frame of {@code transport}, failing if none arrives within {@link #WAIT}. */
    static Frame receive(Transport transport) {
        Frame frame = transport.receive(WAIT);
        assertNotNull(frame, () -> "no frame arrived at " + transport.address() + " within " + WAIT);
        return frame;
    }

    /** Asserts that {@code future} fails, within {@link #WAIT}, with an exception of {@code type}. */
    static <T extends Throwable> T assertFailsWith(Class<T> type, CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(WAIT.toSeconds(), SECONDS),
                () -> "expected the future to fail with " + type.getSimpleName() + " within " + WAIT);
        return assertInstanceOf(type, e.getCause());
    }

    static void assertMentions(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(String.valueOf(e.getMessage()).contains(part),
                    () -> "message should mention '" + part + "': " + e.getMessage());
        }
    }

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
    class AccessControl {

        @Test
        void aReceivedFrameCarriesTheSendersKernelVerifiedCredentials() throws Exception {
            try (Transport a = open(); Transport b = open()) {
                a.send(b.address(), utf8("who am I")).get(WAIT.toSeconds(), SECONDS);
                try (Frame frame = b.receive(WAIT)) {
                    assertNotNull(frame, "no frame within " + WAIT);
                    PeerCredentials self = PeerCredentials.ofThisProcess();
                    PeerCredentials peer = frame.credentials();
                    assertEquals(self.uid(), peer.uid(), peer.toString());
                    if (mode() == IoMode.NIO) {
                        assertEquals(-1, peer.pid(), "the JDK does not report the peer's pid");
                        assertEquals(self.user(), peer.user());
                    } else {
                        assertEquals(self.pid(), peer.pid(), peer.toString());
                    }
                    try (Frame kept = frame.retain()) {
                        assertEquals(peer, kept.credentials());
                    }
                }
            }
        }

        @Test
        void aPeerThePolicyRefusesGetsNotAllowedWithTheReasonAndIsCounted() throws Exception {
            try (Transport strict = open(config().peerPolicy(peer -> false)); Transport sender = open()) {
                CompletableFuture<Void> sent = sender.send(strict.address(), utf8("let me in"));
                ExecutionException e = assertThrows(ExecutionException.class, () -> sent.get(WAIT.toSeconds(), SECONDS));
                PeerRejectedException rejected = assertInstanceOf(PeerRejectedException.class, e.getCause());
                assertEquals(2, rejected.code());
                assertTrue(rejected.getMessage().contains("NOT_ALLOWED"), rejected.getMessage());
                assertTrue(rejected.reason().contains("uid " + PeerCredentials.ofThisProcess().uid()), rejected.reason());
                assertEquals(new TransportStats(0, 1, 0), strict.stats());
                assertNull(strict.receive(Duration.ofMillis(50)), "a refused peer delivered a frame");
            }
        }

        @Test
        void connectionsAboveTheCapAreRefusedWithTooManyConnections() throws Exception {
            try (Transport capped = open(config().maxConnections(1)); Transport first = open(); Transport second = open()) {
                first.send(capped.address(), utf8("first")).get(WAIT.toSeconds(), SECONDS);
                CompletableFuture<Void> sent = second.send(capped.address(), utf8("second"));
                ExecutionException e = assertThrows(ExecutionException.class, () -> sent.get(WAIT.toSeconds(), SECONDS));
                PeerRejectedException rejected = assertInstanceOf(PeerRejectedException.class, e.getCause());
                assertEquals(3, rejected.code());
                assertTrue(rejected.reason().contains("maximum of 1 connections"), rejected.reason());
                try (Frame frame = capped.receive(WAIT)) {
                    assertEquals(first.address(), frame.sender());
                }
                assertEquals(1, capped.stats().connectionsAccepted());
                assertEquals(1, capped.stats().connectionsRejected());
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

    @Nested
    class Addresses {

        @Test
        void aSendToAPathWithoutASocketFileFailsWithUnknownAddress() {
            Path nowhere = dir.resolve("nobody.sock");
            try (Transport a = open()) {
                UnknownAddressException e = assertFailsWith(UnknownAddressException.class,
                        a.send(Address.of(nowhere), utf8("hello?")));
                assertMentions(e, nowhere.toString());
            }
        }

        @Test
        void aSendToAStaleSocketFileFailsWithConnectionRefused() throws Exception {
            assumeSocketFiles("stale socket files");
            Path stale = leaveStaleSocketFile("stale.sock");
            try (Transport a = open()) {
                ConnectionRefusedException e = assertFailsWith(ConnectionRefusedException.class,
                        a.send(Address.of(stale), utf8("anyone?")));
                assertMentions(e, stale.toString());
            }
        }

        @Test
        void openingAtAStaleSocketFileReplacesIt() throws Exception {
            assumeSocketFiles("stale socket files");
            Path stale = leaveStaleSocketFile("stale.sock");
            try (Transport replacement = open(config().fileName("stale.sock")); Transport a = open()) {
                assertEquals(stale, replacement.address().toPath());

                a.send(replacement.address(), utf8("you are live")).get(WAIT.toSeconds(), SECONDS);
                try (Frame frame = receive(replacement)) {
                    assertEquals("you are live", frame.payload().toString(UTF_8));
                }
            }
        }

        @Test
        void openingAtAnAddressHeldByALiveTransportFailsWithAddressInUseAndLeavesTheOwnerServing() throws Exception {
            try (Transport owner = open(config().fileName("busy.sock")); Transport a = open()) {
                AddressInUseException e = assertThrows(AddressInUseException.class,
                        () -> open(config().fileName("busy.sock")).close());
                assertMentions(e, owner.address().path());

                if (mode().usesSocketFiles()) {
                    assertTrue(Files.exists(owner.address().toPath(), LinkOption.NOFOLLOW_LINKS),
                            "the failed bind must not unlink the owner's socket file");
                }
                a.send(owner.address(), utf8("still yours")).get(WAIT.toSeconds(), SECONDS);
                try (Frame frame = receive(owner)) {
                    assertEquals("still yours", frame.payload().toString(UTF_8));
                }
            }
        }

        @Test
        void aSocketPathTooLongForSunPathIsRefusedWithItsLengthAndTheLimit() throws Exception {
            Path deep = Files.createDirectory(dir.resolve("d".repeat(120)),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            String path = deep.resolve("t.sock").toString();
            int bytes = path.getBytes(StandardCharsets.UTF_8).length;

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Transport.open(config().socketDirectory(deep).fileName("t.sock").build()).close());

            assertMentions(e, path, String.valueOf(bytes), String.valueOf(Address.MAX_PATH_BYTES));
        }

        @Test
        void aRestartedReceiverIsReachedAgainAtTheSameAddress() throws Exception {
            try (Transport sender = open()) {
                Address address;
                try (Transport first = open(config().fileName("r.sock"))) {
                    address = first.address();
                    sender.send(address, utf8("before")).get(WAIT.toSeconds(), SECONDS);
                    receive(first).close();
                }
                try (Transport second = open(config().fileName("r.sock"))) {
                    assertEquals(address, second.address());
                    // The sender may learn of the old connection's death only by a failed send: retry, bounded.
                    for (int attempt = 0; attempt < 20; attempt++) {
                        try {
                            sender.send(address, utf8("after " + attempt)).get(WAIT.toSeconds(), SECONDS);
                        } catch (ExecutionException e) {
                            assertInstanceOf(TransportException.class, e.getCause());
                            continue;
                        }
                        try (Frame frame = second.receive(Duration.ofMillis(500))) {
                            if (frame != null) {
                                assertEquals(sender.address(), frame.sender());
                                assertTrue(frame.payload().toString(UTF_8).startsWith("after "));
                                return;
                            }
                        }
                    }
                    fail("no frame reached the restarted receiver in 20 attempts");
                }
            }
        }

        @Test
        void sendsToAClosedReceiverFailInsteadOfVanishing() throws Exception {
            try (Transport sender = open()) {
                Address address;
                try (Transport receiver = open()) {
                    address = receiver.address();
                    sender.send(address, utf8("hello")).get(WAIT.toSeconds(), SECONDS);
                    receive(receiver).close();
                }
                // A send or two may still be written before the sender learns that the connection closed;
                // after that every send must fail with a reason, not be written into a socket nobody reads.
                List<Throwable> failures = new ArrayList<>();
                Await.until("a send to the closed receiver " + address + " fails", WAIT, () -> {
                    try {
                        sender.send(address, utf8("anyone?")).get(WAIT.toSeconds(), SECONDS);
                        return false;
                    } catch (ExecutionException e) {
                        failures.add(e.getCause());
                        return !(e.getCause() instanceof BackPressureException);
                    } catch (TimeoutException e) {
                        return fail("a send to the closed receiver " + address + " neither completed nor failed within "
                                + WAIT + ": a send must never vanish silently", e);
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                });
                Throwable last = failures.get(failures.size() - 1);
                assertTrue(last instanceof UnknownAddressException || last instanceof TransportClosedException
                        || last instanceof ConnectionRefusedException, () -> "unexpected failure: " + last);
            }
        }

        @Test
        void anOfferToAnUnknownAddressIsReportedToTheUndeliverableHandler() throws Exception {
            BlockingQueue<TransportException> reports = new LinkedBlockingQueue<>();
            Path nowhere = dir.resolve("nobody.sock");
            try (Transport a = open(config().undeliverableHandler((to, frames, cause) -> reports.add(cause)))) {
                ByteBuf payload = utf8("lost?");
                OfferResult result = a.offer(Address.of(nowhere), payload);
                if (result != OfferResult.ACCEPTED) {
                    payload.release();
                    fail("offer to an unknown address returned " + result);
                }

                TransportException cause = reports.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(cause, "a frame that cannot be delivered must not vanish silently");
                assertInstanceOf(UnknownAddressException.class, cause);
                assertMentions(cause, nowhere.toString());
            }
        }

        /** Binds a JDK socket at {@code name} and closes it: the JDK leaves the file behind. */
        private Path leaveStaleSocketFile(String name) throws Exception {
            Path path = dir.resolve(name);
            try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
                server.bind(UnixDomainSocketAddress.of(path));
            }
            assertTrue(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "stale socket file left behind");
            return path;
        }
    }

    @Nested
    class Lifecycle {

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void closeUnlinksTheSocketFile() {
            assumeSocketFiles("socket files to unlink");
            try (Transport t = open()) {
                Path file = t.address().toPath();
                assertTrue(Files.exists(file, LinkOption.NOFOLLOW_LINKS), "socket file after open");

                t.close();

                assertFalse(Files.exists(file, LinkOption.NOFOLLOW_LINKS), "socket file after close");
            }
        }

        @Test
        void theSocketFileIsReadableAndWritableByItsOwnerOnly() throws Exception {
            assumeSocketFiles("socket file permissions");
            try (Transport t = open()) {
                Set<PosixFilePermission> permissions =
                        Files.getPosixFilePermissions(t.address().toPath(), LinkOption.NOFOLLOW_LINKS);

                assertEquals("rw-------", PosixFilePermissions.toString(permissions), "mode of " + t.address());
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void afterCloseReceiveThrowsTransportClosedAndCloseIsIdempotent() {
            try (Transport t = open()) {
                t.close();

                assertFalse(t.isOpen());
                TransportClosedException e = assertThrows(TransportClosedException.class, () -> t.receive(WAIT));
                assertMentions(e, t.address().path());
                t.close(); // idempotent
                assertFalse(t.isOpen());
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void everyOperationOnAClosedTransportFailsWithTransportClosed() {
            try (Transport receiver = open(); Transport t = open()) {
                Address to = receiver.address();
                t.close();

                ByteBuf viaFuture = Unpooled.copiedBuffer("x", UTF_8);
                assertFailsWith(TransportClosedException.class, t.send(to, viaFuture));
                assertEquals(0, viaFuture.refCnt(), "a failed send releases its payload");

                ByteBuf viaBlocking = Unpooled.copiedBuffer("x", UTF_8);
                assertThrows(TransportClosedException.class, () -> t.send(to, viaBlocking, WAIT));
                assertEquals(0, viaBlocking.refCnt(), "a failed blocking send releases its payload");

                ByteBuf viaOffer = Unpooled.copiedBuffer("x", UTF_8);
                assertEquals(OfferResult.CLOSED, t.offer(to, viaOffer));
                assertEquals(1, viaOffer.refCnt(), "a refused offer leaves the payload with the caller");
                viaOffer.release();

                assertThrows(TransportClosedException.class, () -> t.poll(frame -> { }, 1));
                assertThrows(TransportClosedException.class, () -> t.poll(frame -> { }, 1, WAIT));
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void aReceiveWaitingWhenTheTransportClosesThrowsTransportClosed() throws Exception {
            try (Transport t = open()) {
                CompletableFuture<Frame> waiting = Background.call("receiver", () -> t.receive(Duration.ofSeconds(30)));

                t.close();

                assertFailsWith(TransportClosedException.class, waiting);
            }
        }

        @Test
        void closeReleasesReceivedFramesNobodyTook() throws Exception {
            try (Transport a = open(); Transport b = open()) {
                for (int i = 0; i < 10; i++) {
                    a.send(b.address(), utf8("unread " + i)).get(WAIT.toSeconds(), SECONDS);
                }
                try (Frame first = receive(b)) {
                    assertEquals("unread 0", first.payload().toString(UTF_8));
                }
                // The other nine are left in b's inbox: closing b must release them (the leak check verifies).
            }
        }
    }

    /** One call of an {@link org.stagecrew.transport.UndeliverableHandler}. */
    record Undelivered(Address destination, int frames, TransportException cause) {
    }

    @Nested
    class BackPressure {
        private static final int FRAME = 4096;
        /** Far above what inbox, socket buffers and watermarks can hold: reaching it means memory is unbounded. */
        private static final int UNBOUNDED = 8192;

        private Transport slowReceiver() {
            return open(config().inboxCapacity(16, 64 * 1024));
        }

        /** Frames still queued when the test closes the sender are undeliverable by design: no warnings for them. */
        private TransportConfig.Builder senderConfig() {
            return config().writeBufferWaterMark(16 * 1024, 64 * 1024).undeliverableHandler((to, frames, cause) -> { });
        }

        private ByteBuf frame(long seq) {
            return ByteBufAllocator.DEFAULT.directBuffer(FRAME).writeLong(seq).writeZero(FRAME - Long.BYTES);
        }

        /** Sends blocking until a send times out; returns how many frames went before. */
        private int sendUntilTimeout(Transport sender, Address to, Duration timeout) {
            for (int seq = 0; seq < UNBOUNDED; seq++) {
                long start = System.nanoTime();
                try {
                    sender.send(to, frame(seq), timeout);
                } catch (TransportTimeoutException e) {
                    Duration waited = Duration.ofNanos(System.nanoTime() - start);
                    assertTrue(waited.compareTo(timeout.minusMillis(50)) >= 0, "gave up early, after " + waited);
                    assertTrue(waited.compareTo(timeout.plus(WAIT)) < 0, "overran the timeout: " + waited);
                    assertMentions(e, to.path());
                    return seq;
                }
            }
            return fail(UNBOUNDED + " frames of " + FRAME + " bytes went to a receiver that does not read:"
                    + " memory is not bounded");
        }

        /**
         * A sender that never pauses, of frames too large for a segment, to a receiver that keeps
         * up as well as it can: what is in flight must stay within the watermarks, the inbox and
         * the socket (or, in LOCAL mode, one drain pass), however far the sender runs ahead.
         */
        @Test
        void aSenderOfLargeFramesThatNeverPausesKeepsDirectMemoryBounded() throws Exception {
            int frame = 64 * 1024;
            int frames = 6_000; // 384 MiB in all: more than the bound below, so that unbounded growth shows
            long bound = 128L * 1024 * 1024;
            PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
            ByteBuf source = alloc.directBuffer(frame).writeZero(frame);
            try (Transport receiver = open(config().inboxCapacity(256, 16 * 1024 * 1024)); Transport sender = open()) {
                long[] received = {0};
                CompletableFuture<Void> consumer = Background.run("consumer", () -> {
                    while (received[0] < frames) {
                        received[0] += receiver.poll(f -> { }, 64, WAIT);
                    }
                });
                long peak = 0;
                for (int i = 0; i < frames; i++) {
                    sender.send(receiver.address(), source, 0, frame, WAIT);
                    if (i % 100 == 0) {
                        peak = Math.max(peak, liveDirectBytes(alloc));
                        assertTrue(peak < bound, "pooled direct buffers of " + (peak >> 20) + " MiB were alive after " + i
                                + " frames of " + frame + " bytes: the path from sender to inbox is not bounded");
                    }
                }
                consumer.get(WAIT.toSeconds() * 3, SECONDS);
            } finally {
                source.release();
            }
        }

        /** Bytes of the pooled direct buffers alive now (not the pool's chunks, which fragmentation inflates). */
        private long liveDirectBytes(PooledByteBufAllocator alloc) {
            long bytes = 0;
            for (PoolArenaMetric arena : alloc.metric().directArenas()) {
                bytes += arena.numActiveBytes();
            }
            return bytes;
        }

        @Test
        void aBlockingSendTimesOutWhileTheReceiverDoesNotRead() {
            try (Transport receiver = slowReceiver(); Transport sender = open(senderConfig())) {
                int sent = sendUntilTimeout(sender, receiver.address(), Duration.ofMillis(500));

                assertTrue(sent > 0, "not even one frame went out");
            }
        }

        @Test
        void anOfferIsBackPressuredLeavesTheBufferWithTheCallerAndIsAcceptedAgainOnceTheReceiverReads() {
            try (Transport receiver = slowReceiver(); Transport sender = open(senderConfig())) {
                Address to = receiver.address();
                int accepted = 0;
                while (true) {
                    ByteBuf payload = frame(accepted);
                    OfferResult result = sender.offer(to, payload);
                    if (result == OfferResult.BACK_PRESSURED) {
                        assertEquals(1, payload.refCnt(), "a back-pressured offer leaves the payload with the caller");
                        payload.release();
                        break;
                    }
                    assertEquals(OfferResult.ACCEPTED, result);
                    assertTrue(++accepted < UNBOUNDED, "offers never reported back-pressure: memory is not bounded");
                }

                long[] next = {0};
                long[] outOfOrder = {0};
                while (next[0] < accepted) {
                    int handled = receiver.poll(frame -> {
                        if (frame.payload().getLong(frame.payload().readerIndex()) != next[0]++) {
                            outOfOrder[0]++;
                        }
                    }, 64, WAIT);
                    assertTrue(handled > 0, "no frame within " + WAIT + " after " + next[0] + " of " + accepted);
                }
                assertEquals(0, outOfOrder[0], "frames out of order");

                int seq = accepted;
                Await.until("the sender accepts offers again", WAIT, () -> {
                    ByteBuf payload = frame(seq);
                    if (sender.offer(to, payload) == OfferResult.ACCEPTED) {
                        return true;
                    }
                    payload.release();
                    return false;
                });
                try (Frame last = receive(receiver)) {
                    assertEquals(seq, last.payload().getLong(last.payload().readerIndex()), "nothing was dropped");
                }
            }
        }

        @Test
        void aFutureSendFailsAtOnceWithBackPressure() {
            try (Transport receiver = slowReceiver(); Transport sender = open(senderConfig())) {
                sendUntilTimeout(sender, receiver.address(), Duration.ofMillis(200));

                ByteBuf payload = frame(-1);
                assertFailsWith(BackPressureException.class, sender.send(receiver.address(), payload));
                assertEquals(0, payload.refCnt(), "the transport releases a payload it refuses");
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void closingABlockedSenderFailsPendingAndLaterSends() throws Exception {
            BlockingQueue<Undelivered> undelivered = new LinkedBlockingQueue<>();
            try (Transport receiver = slowReceiver();
                    Transport sender = open(senderConfig().undeliverableHandler(
                            (to, frames, cause) -> undelivered.add(new Undelivered(to, frames, cause))))) {
                Address to = receiver.address();
                sendUntilTimeout(sender, to, Duration.ofMillis(200));

                sender.close();

                Undelivered report = undelivered.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(report, "queued frames failed by close() must reach the undeliverable handler");
                assertEquals(to, report.destination());
                assertTrue(report.frames() > 0, "frames reported: " + report.frames());
                assertInstanceOf(TransportClosedException.class, report.cause());
                assertThrows(TransportClosedException.class, () -> sender.send(to, frame(-1), WAIT));
                assertFailsWith(TransportClosedException.class, sender.send(to, frame(-2)));
                ByteBuf refused = frame(-3);
                assertEquals(OfferResult.CLOSED, sender.offer(to, refused));
                refused.release();
            }
        }
    }

    /**
     * Small frames take the segment path: the sending thread copies them into its own pooled segment
     * for the destination and the event loop writes segments out as slices. With the watermarks of
     * {@link #smallWatermarks()} a segment holds 8 KiB and frames of up to 4092 bytes are appended;
     * with the defaults, up to 32767 bytes. Longer frames, and future sends, go through the queue.
     */
    @Nested
    class SmallFrames {
        /** Appended to a segment with any watermarks. */
        private static final int SMALL = 64;
        /** Above the 4092 bytes appended with {@link #smallWatermarks()}, below the zero-copy threshold: queued. */
        private static final int MEDIUM = 8 * 1024;
        /** Above the 32 KiB zero-copy threshold (and the 32767 bytes appended with the defaults): queued. */
        private static final int LARGE = 40 * 1024;
        /**
         * Far above what inbox, socket buffers (1 MiB each way) and watermarks can hold of 68-byte frames
         * (about 10,000 get through before a send times out): reaching it means memory is unbounded.
         */
        private static final int UNBOUNDED = 1 << 16;
        /** Where {@link #sendMixed} puts copied frames in its reused source buffer. */
        private static final int COPY_AT = 3;

        private Transport slowReceiver() {
            return open(config().inboxCapacity(16, 64 * 1024));
        }

        /**
         * Threads that send in bursts with pauses between them: the event loop catches up and seals
         * idle segments while their producers may be about to claim them again. Nothing may be lost,
         * doubled or reordered per thread.
         */
        @Test
        void burstySendersRacingIdleSealsLoseDoubleAndReorderNothing() throws Exception {
            int threads = 6;
            int bursts = 150;
            try (Transport receiver = open(); Transport shared = open(smallWatermarks())) {
                List<CompletableFuture<Void>> sending = new ArrayList<>();
                long[] sent = new long[threads];
                for (int source = 0; source < threads; source++) {
                    int s = source;
                    sending.add(Background.run("bursty-" + source, () -> {
                        Random random = new Random(s);
                        long seq = 0;
                        for (int b = 0; b < bursts; b++) {
                            for (int n = 1 + random.nextInt(40); n > 0; n--) {
                                shared.send(receiver.address(), SequencedFrames.payload(s, seq++), WAIT);
                            }
                            // Workload shape, not synchronisation: a pause long enough for a drain pass to find the
                            // segment idle and seal it, short enough to land inside the next pass now and then.
                            LockSupport.parkNanos(random.nextInt(200_000));
                        }
                        sent[s] = seq;
                    }));
                }
                for (CompletableFuture<Void> f : sending) {
                    f.get(WAIT.toSeconds() * 6, SECONDS);
                }
                long expected = 0;
                for (long n : sent) {
                    expected += n;
                }
                SequencedFrames.Checker checker = new SequencedFrames.Checker(threads, false);
                while (checker.received() < expected) {
                    int handled = receiver.poll(checker, 4096, WAIT);
                    assertNull(checker.firstError(), checker::firstError);
                    assertTrue(handled > 0, "no frame within " + WAIT + " after " + checker.received() + " of " + expected);
                }
                assertEquals(expected, checker.received(), "frames received");
                for (int source = 0; source < threads; source++) {
                    assertEquals(sent[source], checker.inOrder(source), "frames in order from thread " + source);
                }
                assertTrue(shared.flush(WAIT), "flush after the bursts");
            }
        }

        /** A 64 KiB high watermark: 8 KiB segments, so nine of them back-pressure the destination. */
        private TransportConfig.Builder smallWatermarks() {
            return config().writeBufferWaterMark(16 * 1024, 64 * 1024);
        }

        /** A pooled frame of {@code length} (at least 16) bytes that starts and ends with {@code seq}. */
        private ByteBuf frame(long seq, int length) {
            return ByteBufAllocator.DEFAULT.directBuffer(length)
                    .writeLong(seq).writeZero(length - 2 * Long.BYTES).writeLong(seq);
        }

        /** Marks {@code length} bytes of {@code source} from {@code index} as frame {@code seq}, as {@link #frame} does. */
        private void mark(ByteBuf source, int index, long seq, int length) {
            source.setLong(index, seq).setLong(index + length - Long.BYTES, seq);
        }

        /** Why {@code frame} is not frame {@code seq} of {@code length} bytes, or null if it is. */
        private String mismatch(Frame frame, long seq, int length) {
            ByteBuf payload = frame.payload();
            int readable = payload.readableBytes();
            if (readable < 2 * Long.BYTES) {
                return "expected frame " + seq + " of " + length + " bytes, got one of " + readable + " bytes";
            }
            long first = payload.getLong(payload.readerIndex());
            long last = payload.getLong(payload.readerIndex() + readable - Long.BYTES);
            if (readable != length || first != seq || last != seq) {
                return "expected frame " + seq + " of " + length + " bytes, got one of " + readable
                        + " bytes that starts with " + first + " and ends with " + last;
            }
            return null;
        }

        /**
         * Polls until frames {@code 0} to {@code count - 1} arrived, in order and intact, each as long as
         * {@code lengthOf} says; fails with the sender's failure if {@code sending} failed meanwhile.
         */
        private void receiveInOrder(Transport receiver, long count, LongToIntFunction lengthOf,
                CompletableFuture<?> sending) {
            long[] next = {0};
            String[] firstError = {null};
            while (next[0] < count && firstError[0] == null) {
                int handled = receiver.poll(frame -> {
                    if (firstError[0] == null) {
                        firstError[0] = mismatch(frame, next[0], lengthOf.applyAsInt(next[0]));
                    }
                    next[0]++;
                }, (int) Math.min(256, count - next[0]), WAIT);
                if (handled == 0) {
                    if (sending != null && sending.isCompletedExceptionally()) {
                        fail("the sender failed after " + next[0] + " of " + count + " frames arrived",
                                assertFailsWith(Throwable.class, sending));
                    }
                    fail("no frame arrived within " + WAIT + " after " + next[0] + " of " + count);
                }
            }
            assertNull(firstError[0], () -> firstError[0]);
        }

        /**
         * Sends 64-byte frames blocking, alternately owned and copied from one reused buffer, until a send
         * times out; returns how many frames went before.
         */
        private int sendUntilTimeout(Transport sender, Address to, Duration timeout) {
            ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(SMALL).writeZero(SMALL);
            try {
                for (int seq = 0; seq < UNBOUNDED; seq++) {
                    boolean copied = seq % 2 == 1;
                    ByteBuf payload = copied ? null : frame(seq, SMALL);
                    long start = System.nanoTime();
                    try {
                        if (copied) {
                            mark(source, 0, seq, SMALL);
                            sender.send(to, source, 0, SMALL, timeout);
                        } else {
                            sender.send(to, payload, timeout);
                        }
                    } catch (TransportTimeoutException e) {
                        Duration waited = Duration.ofNanos(System.nanoTime() - start);
                        assertTrue(waited.compareTo(timeout.minusMillis(50)) >= 0, "gave up early, after " + waited);
                        assertTrue(waited.compareTo(timeout.plus(WAIT)) < 0, "overran the timeout: " + waited);
                        assertMentions(e, to.path());
                        if (copied) {
                            assertEquals(1, source.refCnt(), "a copying send leaves the source with the caller");
                        } else {
                            assertEquals(0, payload.refCnt(), "a blocking send that times out releases its payload");
                        }
                        return seq;
                    }
                }
                return fail(UNBOUNDED + " frames of " + SMALL + " bytes went to a receiver that does not read:"
                        + " memory is not bounded");
            } finally {
                source.release();
            }
        }

        @Test
        void copiedSendsLeaveTheSourceAloneAndCarryItsBytesAsTheyWereAtTheCall() {
            int capacity = LARGE + 64;
            try (Transport receiver = open(); Transport sender = open()) {
                Address to = receiver.address();
                ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(capacity, capacity);
                try {
                    // The range is independent of the indices: the copy must neither use nor move them.
                    source.writerIndex(40).readerIndex(3);
                    List<byte[]> expected = new ArrayList<>();
                    for (int round = 0; round < 8; round++) {
                        boolean small = round % 4 < 2;
                        boolean blocking = round % 2 == 0;
                        int index = 5 + round;
                        int length = small ? SMALL + round : LARGE + round;
                        byte[] content = new byte[capacity];
                        new Random(round).nextBytes(content);
                        source.setBytes(0, content);

                        if (blocking) {
                            sender.send(to, source, index, length, WAIT);
                        } else {
                            assertEquals(OfferResult.ACCEPTED, sender.offer(to, source, index, length),
                                    "offer of frame " + round);
                        }
                        expected.add(Arrays.copyOfRange(content, index, index + length));
                        // The caller may reuse the source as soon as the call returns: the frame must not change.
                        byte[] overwrite = new byte[capacity];
                        new Random(-1 - round).nextBytes(overwrite);
                        source.setBytes(0, overwrite);

                        String call = (blocking ? "send" : "offer") + " of " + length + " bytes";
                        assertEquals(3, source.readerIndex(), "readerIndex after the " + call);
                        assertEquals(40, source.writerIndex(), "writerIndex after the " + call);
                        assertEquals(1, source.refCnt(), "refCnt after the " + call);
                    }

                    int index = capacity - 4098;
                    IndexOutOfBoundsException beyond = assertThrows(IndexOutOfBoundsException.class,
                            () -> sender.send(to, source, index, 4099, WAIT));
                    assertMentions(beyond, "4099", String.valueOf(index));
                    IndexOutOfBoundsException beyondOffer = assertThrows(IndexOutOfBoundsException.class,
                            () -> sender.offer(to, source, index, 4099));
                    assertMentions(beyondOffer, "4099", String.valueOf(index));
                    IndexOutOfBoundsException negative = assertThrows(IndexOutOfBoundsException.class,
                            () -> sender.offer(to, source, -7, 13));
                    assertMentions(negative, "13", "-7");
                    assertEquals(1, source.refCnt(), "a refused range leaves the source with the caller");
                    sender.send(to, utf8("after"), WAIT);

                    for (int round = 0; round < expected.size(); round++) {
                        try (Frame frame = receive(receiver)) {
                            assertArrayEquals(expected.get(round), ByteBufUtil.getBytes(frame.payload()),
                                    "frame " + round + " must carry the source's bytes as they were at the call");
                        }
                    }
                    try (Frame after = receive(receiver)) {
                        assertEquals("after", after.payload().toString(UTF_8), "a refused range sent nothing");
                    }
                } finally {
                    source.release();
                }
            }
        }

        @Test
        void smallBlockingSendsTimeOutWithinABoundedNumberOfFramesWhileTheReceiverDoesNotRead() {
            try (Transport receiver = slowReceiver();
                    Transport sender = open(smallWatermarks().undeliverableHandler((to, frames, cause) -> { }))) {
                int sent = sendUntilTimeout(sender, receiver.address(), Duration.ofMillis(500));

                assertTrue(sent > 0, "not even one frame went out");
            }
        }

        @Test
        void smallOffersAreBackPressuredWhileTheReceiverDoesNotReadAndAcceptedAgainOnceItDrained() {
            try (Transport receiver = slowReceiver(); Transport sender = open(smallWatermarks())) {
                Address to = receiver.address();
                ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(SMALL).writeZero(SMALL);
                try {
                    int accepted = 0;
                    while (true) {
                        OfferResult result;
                        ByteBuf payload = null;
                        if (accepted % 2 == 1) {
                            mark(source, 0, accepted, SMALL);
                            result = sender.offer(to, source, 0, SMALL);
                            assertEquals(1, source.refCnt(), "a copying offer leaves the source with the caller");
                        } else {
                            payload = frame(accepted, SMALL);
                            result = sender.offer(to, payload);
                        }
                        if (result == OfferResult.BACK_PRESSURED) {
                            if (payload != null) {
                                assertEquals(1, payload.refCnt(), "a back-pressured offer leaves the payload with the caller");
                                payload.release();
                            }
                            break;
                        }
                        assertEquals(OfferResult.ACCEPTED, result);
                        assertTrue(++accepted < UNBOUNDED, "offers never reported back-pressure: memory is not bounded");
                    }

                    receiveInOrder(receiver, accepted, seq -> SMALL, null);

                    int seq = accepted;
                    Await.until("the sender accepts small offers again", WAIT, () -> {
                        ByteBuf payload = frame(seq, SMALL);
                        if (sender.offer(to, payload) == OfferResult.ACCEPTED) {
                            return true;
                        }
                        payload.release();
                        return false;
                    });
                    try (Frame last = receive(receiver)) {
                        assertNull(mismatch(last, seq, SMALL), "nothing was dropped");
                    }
                    assertTrue(sender.flush(WAIT), "the sender's idle segment still counts after everything was read");
                } finally {
                    source.release();
                }
            }
        }

        @Test
        void oneThreadsSmallLargeFutureAndCopiedSendsArriveInTheOrderItSentThem() throws Exception {
            int frames = 3_000;
            try (Transport receiver = open(); Transport sender = open(smallWatermarks())) {
                Address to = receiver.address();
                CompletableFuture<List<CompletableFuture<Void>>> sending = Background.call("mixed-sender", () -> {
                    List<CompletableFuture<Void>> futures = new ArrayList<>();
                    ByteBuf source = ByteBufAllocator.DEFAULT.directBuffer(COPY_AT + LARGE).writeZero(COPY_AT + LARGE);
                    try {
                        for (long seq = 0; seq < frames; seq++) {
                            sendMixed(sender, to, seq, source, futures);
                        }
                    } finally {
                        source.release();
                    }
                    return futures;
                });

                receiveInOrder(receiver, frames, this::mixedLength, sending);

                List<CompletableFuture<Void>> futures = sending.get(WAIT.toSeconds(), SECONDS);
                for (CompletableFuture<Void> future : futures) {
                    future.get(WAIT.toSeconds(), SECONDS);
                }
            }
        }

        /** The length of frame {@code seq} of {@link #sendMixed}. */
        private int mixedLength(long seq) {
            return switch ((int) (seq % 10)) {
                case 1, 6 -> MEDIUM;
                case 3, 7, 9 -> LARGE;
                default -> 16 + (int) (seq % 49);
            };
        }

        /** Sends frame {@code seq} in one of ten ways, by turns: every kind of send, small and large. */
        private void sendMixed(Transport sender, Address to, long seq, ByteBuf source,
                List<CompletableFuture<Void>> futures) {
            int length = mixedLength(seq);
            switch ((int) (seq % 10)) {
                case 0, 1, 3 -> sender.send(to, frame(seq, length), WAIT); // small, medium, large
                case 2, 6, 9 -> { // small, medium, large, copied
                    mark(source, COPY_AT, seq, length);
                    sender.send(to, source, COPY_AT, length, WAIT);
                }
                case 4, 7 -> // small, large, with a future: retried while it fails at once with back-pressure
                    Await.until("a future send of frame " + seq + " is not back-pressured", WAIT, () -> {
                        CompletableFuture<Void> future = sender.send(to, frame(seq, length));
                        if (future.isCompletedExceptionally()) {
                            assertFailsWith(BackPressureException.class, future);
                            return false;
                        }
                        futures.add(future);
                        return true;
                    });
                case 5 -> Await.until("a copying offer of frame " + seq + " is accepted", WAIT, () -> {
                    mark(source, COPY_AT, seq, length);
                    OfferResult result = sender.offer(to, source, COPY_AT, length);
                    assertTrue(result != OfferResult.CLOSED, "offer returned " + result);
                    return result == OfferResult.ACCEPTED;
                });
                default -> Await.until("an offer of frame " + seq + " is accepted", WAIT, () -> {
                    ByteBuf payload = frame(seq, length);
                    OfferResult result = sender.offer(to, payload);
                    if (result == OfferResult.ACCEPTED) {
                        return true;
                    }
                    payload.release();
                    assertEquals(OfferResult.BACK_PRESSURED, result);
                    return false;
                });
            }
        }

        @Test
        void threadsThatSentOneSmallFrameAndWentIdleNeitherBackPressureTheDestinationNorHoldUpFlush() throws Exception {
            int threads = 32; // 32 segments of 8 KiB, unsealed, would hold 256 KiB against the 64 KiB high watermark
            try (Transport receiver = open(); Transport sender = open(smallWatermarks())) {
                Address to = receiver.address();
                CountDownLatch release = new CountDownLatch(1);
                List<CompletableFuture<Void>> sent = new ArrayList<>();
                List<CompletableFuture<Void>> idle = new ArrayList<>();
                try {
                    for (int thread = 0; thread < threads; thread++) {
                        long seq = thread;
                        CompletableFuture<Void> sentOne = new CompletableFuture<>();
                        sent.add(sentOne);
                        idle.add(Background.run("idle-sender-" + thread, () -> {
                            try {
                                sender.send(to, frame(seq, SMALL), WAIT);
                                sentOne.complete(null);
                            } catch (Throwable e) {
                                sentOne.completeExceptionally(e);
                                throw e;
                            }
                            // Alive but idle, like a pool thread waiting for work: it sends nothing more.
                            release.await(WAIT.toSeconds() * 3, SECONDS);
                        }));
                    }
                    for (int thread = 0; thread < threads; thread++) {
                        try {
                            sent.get(thread).get(2 * WAIT.toSeconds(), SECONDS); // longer than the send's own timeout
                        } catch (ExecutionException e) {
                            fail("idle-sender-" + thread + " could not send its one frame: the segments of the threads"
                                    + " that went idle before it keep the destination back-pressured", e.getCause());
                        }
                    }

                    assertTrue(sender.flush(WAIT), "flush() did not return true within " + WAIT
                            + " after " + threads + " threads sent one frame each and went idle");
                    // From a thread that has sent nothing yet. (Awaited, though it should be accepted at once: the
                    // event loop clears the back-pressure flag just after the count that flush() reads drops.)
                    String what = "an offer is accepted after " + threads + " threads went idle"
                            + " (their segments must not count against the high watermark)";
                    Await.until(what, WAIT, () -> {
                        ByteBuf payload = frame(threads, SMALL);
                        if (sender.offer(to, payload) == OfferResult.ACCEPTED) {
                            return true;
                        }
                        payload.release();
                        return false;
                    });

                    Set<Long> senders = new HashSet<>();
                    for (int i = 0; i < threads; i++) {
                        try (Frame frame = receive(receiver)) {
                            long seq = frame.payload().getLong(frame.payload().readerIndex());
                            assertNull(mismatch(frame, seq, SMALL));
                            assertTrue(seq >= 0 && seq < threads && senders.add(seq), "unexpected frame " + seq);
                        }
                    }
                    try (Frame last = receive(receiver)) {
                        assertNull(mismatch(last, threads, SMALL), "the offer after the flush arrives last");
                    }
                } finally {
                    release.countDown();
                }
                for (CompletableFuture<Void> thread : idle) {
                    thread.get(WAIT.toSeconds(), SECONDS);
                }
            }
        }

        @Test
        void aSmallFrameAboveTheReceiversMaximumIsReportedOnceAndTheFramesAroundItAreDelivered() throws Exception {
            BlockingQueue<Undelivered> undelivered = new LinkedBlockingQueue<>();
            try (Transport receiver = open(config().maxFrameLength(1024));
                    Transport sender = open(config().undeliverableHandler(
                            (to, frames, cause) -> undelivered.add(new Undelivered(to, frames, cause))))) {
                Address to = receiver.address();
                // All three take the segment path (up to 32767 bytes with the default watermarks). The sender's own
                // maximum is the default, so the sender accepts 2000 bytes; only the receiver's maximum refuses them.
                sender.send(to, frame(0, 100), WAIT);
                sender.send(to, frame(1, 2000), WAIT);
                sender.send(to, frame(2, 100), WAIT);

                try (Frame before = receive(receiver)) {
                    assertNull(mismatch(before, 0, 100));
                }
                try (Frame after = receive(receiver)) {
                    assertNull(mismatch(after, 2, 100), "the frame after the refused one arrives");
                }
                Undelivered report = undelivered.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(report, "a frame the receiver refuses must reach the undeliverable handler");
                assertEquals(to, report.destination());
                assertEquals(1, report.frames(), "frames reported");
                FrameTooLargeException cause = assertInstanceOf(FrameTooLargeException.class, report.cause());
                assertEquals(2000, cause.length());
                assertEquals(1024, cause.maxFrameLength());
                assertMentions(cause, "2000", "1024", to.path());

                sender.send(to, frame(3, 100), WAIT);
                try (Frame later = receive(receiver)) {
                    assertNull(mismatch(later, 3, 100), "the connection keeps serving");
                }
                assertNull(undelivered.poll(), "reported more than once");
                assertEquals(new TransportStats(1, 0, 0), receiver.stats(),
                        "one connection, never closed for an oversized frame");
            }
        }

        @Test
        @SuppressWarnings("try") // closes inside try-with-resources on purpose: close() is idempotent
        void closingASenderWithStuckSmallFramesReportsThemAsClosedAndDropsNoneSilently() throws Exception {
            BlockingQueue<Undelivered> undelivered = new LinkedBlockingQueue<>();
            AtomicInteger reported = new AtomicInteger();
            try (Transport receiver = slowReceiver();
                    Transport sender = open(smallWatermarks().undeliverableHandler((to, frames, cause) -> {
                        undelivered.add(new Undelivered(to, frames, cause));
                        reported.addAndGet(frames);
                    }))) {
                Address to = receiver.address();
                int sent = sendUntilTimeout(sender, to, Duration.ofMillis(200));

                sender.close();

                Undelivered report = undelivered.poll(WAIT.toSeconds(), SECONDS);
                assertNotNull(report, "small frames failed by close() must reach the undeliverable handler");
                for (; report != null; report = undelivered.poll()) {
                    assertEquals(to, report.destination());
                    assertTrue(report.frames() > 0, "frames reported: " + report.frames());
                    assertInstanceOf(TransportClosedException.class, report.cause());
                }
                assertTrue(reported.get() > 0, "frames reported: " + reported.get());
                // Every frame was written to the receiver's socket or reported: the receiver gets the rest.
                for (long seq = 0; seq < sent - reported.get(); seq++) {
                    try (Frame frame = receiver.receive(WAIT)) {
                        if (frame == null) {
                            fail("of " + sent + " frames sent, " + reported.get() + " were reported and " + seq
                                    + " arrived within " + WAIT + ": the others vanished silently");
                        }
                        assertNull(mismatch(frame, seq, SMALL));
                    }
                }
            }
        }
    }
}
