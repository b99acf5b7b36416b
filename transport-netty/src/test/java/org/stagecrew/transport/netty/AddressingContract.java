package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.ConnectionRefusedException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.UnknownAddressException;
import org.stagecrew.transport.test.Await;

/** The contract's addressing part: who may connect (peer policy) and what addresses are valid, busy, stale or unknown. */
abstract class AddressingContract extends DeliveryContract {

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
                TransportStats stats = strict.stats();
                assertEquals(new TransportStats(0, 1, 0), new TransportStats(stats.connectionsAccepted(), stats.connectionsRejected(),
                        stats.protocolErrors(), stats.discardedFrames()));
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
}
