package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.PeerStats;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportStats;
import org.stagecrew.transport.test.Await;

/**
 * The live counters, asserted exactly: what one side counts as sent the other counts as received,
 * refusals carry their notice code, discarded frames are counted per sender; and the counters file
 * beside the socket file (mode, unlink, stale file, what another process reads from it).
 */
@Timeout(value = 60, unit = SECONDS)
class TransportCountersTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int[] SIZES = {0, 1, 64, 1000, 40 * 1024, 100 * 1024};

    @TempDir
    Path dir;

    private Transport open(IoMode mode, TransportConfig.Builder config) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        return Transport.open(config.socketDirectory(dir).ioMode(mode).build());
    }

    private Transport open(IoMode mode) {
        return open(mode, TransportConfig.builder());
    }

    /** Receives one frame and closes it, failing if none arrives within {@link #WAIT}. */
    private static void take(Transport transport) {
        Frame frame = transport.receive(WAIT);
        assertNotNull(frame, () -> "no frame arrived at " + transport.address() + " within " + WAIT);
        frame.close();
    }

    private static ByteBuf payload(int size) {
        return ByteBufAllocator.DEFAULT.directBuffer(size).writeZero(size);
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "IO_URING", "LOCAL"})
    void framesAndBytesSentEqualWhatTheReceiverCounts(IoMode mode) throws Exception {
        try (Transport receiver = open(mode); Transport sender = open(mode)) {
            long bytes = 0;
            int frames = 0;
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int round = 0; round < 20; round++) {
                for (int size : SIZES) {
                    if (round % 2 == 0) {
                        futures.add(sender.send(receiver.address(), payload(size))); // the queue, with a future
                    } else {
                        sender.send(receiver.address(), payload(size), WAIT); // the segment path for small frames
                    }
                    bytes += 4 + size;
                    frames++;
                }
            }
            for (CompletableFuture<Void> f : futures) {
                f.get(WAIT.toSeconds(), SECONDS);
            }
            assertTrue(sender.flush(WAIT), "everything written");
            for (int i = 0; i < frames; i++) {
                try (Frame frame = receiver.receive(WAIT)) {
                    assertNotNull(frame, "frame " + i + " arrived");
                }
            }
            TransportStats sent = sender.stats();
            TransportStats received = receiver.stats();
            assertEquals(frames, sent.get(TransportCounter.FRAMES_SENT));
            assertEquals(bytes, sent.get(TransportCounter.BYTES_SENT));
            assertEquals(frames, received.get(TransportCounter.FRAMES_RECEIVED));
            assertEquals(bytes, received.get(TransportCounter.BYTES_RECEIVED));
            PeerStats to = sent.peer(receiver.address(), PeerStats.Direction.TO).orElseThrow();
            PeerStats from = received.peer(sender.address(), PeerStats.Direction.FROM).orElseThrow();
            assertEquals(frames, to.get(TransportCounter.FRAMES_SENT));
            assertEquals(bytes, to.get(TransportCounter.BYTES_SENT));
            assertEquals(frames, from.get(TransportCounter.FRAMES_RECEIVED));
            assertEquals(bytes, from.get(TransportCounter.BYTES_RECEIVED));
            assertEquals(1, to.get(TransportCounter.CONNECTIONS_OPENED));
            assertEquals(1, to.get(TransportCounter.CONNECTIONS_ACTIVE));
            assertEquals(0, to.get(TransportCounter.RECONNECTS));
            assertEquals(1, from.get(TransportCounter.CONNECTIONS_OPENED));
            assertEquals(1, received.get(TransportCounter.CONNECTIONS_ACCEPTED));
            assertEquals(1, received.connectionsAccepted());
            assertEquals(0, sent.get(TransportCounter.SENDS_FAILED));
            assertEquals(0, to.get(TransportCounter.QUEUED_BYTES), "nothing left queued once flushed");
            assertTrue(to.get(TransportCounter.QUEUED_BYTES_HIGH) > 0, "the queue held bytes at some drain pass");
            assertEquals(0, received.get(TransportCounter.INBOX_FRAMES), "every frame consumed");
            assertTrue(received.get(TransportCounter.INBOX_FRAMES_HIGH) >= 1, "the inbox held frames");
            assertEquals(List.of(), received.peers().stream().filter(p -> p.direction() == PeerStats.Direction.TO).toList(),
                    "the receiver sent nothing");
        }
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "LOCAL"})
    void aRefusedConnectionIsCountedWithItsNoticeCodeOnBothSides(IoMode mode) throws Exception {
        try (Transport strict = open(mode, TransportConfig.builder().peerPolicy(peer -> false)); Transport sender = open(mode)) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> sender.send(strict.address(), payload(8)).get(WAIT.toSeconds(), SECONDS));
            assertInstanceOf(PeerRejectedException.class, e.getCause());
            TransportStats refused = sender.stats();
            assertEquals(Map.of("connectionsRefused.NOT_ALLOWED", 1L, "sendsFailed.PeerRejectedException", 1L),
                    withDetail(sender.stats().peer(strict.address(), PeerStats.Direction.TO).orElseThrow().counters()));
            assertEquals(1, refused.get(TransportCounter.CONNECTIONS_REFUSED));
            assertEquals(1, refused.totals().get("sendsFailed.PeerRejectedException"));
            assertEquals(0, refused.get(TransportCounter.CONNECTIONS_OPENED));
            Await.until("the listener counted its rejection", WAIT, () -> strict.stats().connectionsRejected() == 1);
            assertEquals(1, strict.stats().totals().get("connectionsRejected.NOT_ALLOWED"));
            assertEquals(0, strict.stats().get(TransportCounter.CONNECTIONS_ACCEPTED));
        }
    }

    private static Map<String, Long> withDetail(Map<String, Long> counters) {
        Map<String, Long> detailed = new java.util.HashMap<>();
        counters.forEach((key, value) -> {
            if (key.contains(".")) {
                detailed.put(key, value);
            }
        });
        return detailed;
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "LOCAL"})
    void framesDiscardedAtCloseAreCountedPerSender(IoMode mode) throws Exception {
        Transport receiver = open(mode);
        try (Transport first = open(mode); Transport second = open(mode)) {
            for (int i = 0; i < 5; i++) {
                first.send(receiver.address(), payload(16), WAIT);
            }
            for (int i = 0; i < 3; i++) {
                second.send(receiver.address(), payload(16), WAIT);
            }
            Await.until("8 frames wait in the inbox", WAIT, () -> receiver.stats().get(TransportCounter.INBOX_FRAMES) == 8);
            receiver.close();
            TransportStats stats = receiver.stats();
            assertEquals(5, stats.peer(first.address(), PeerStats.Direction.FROM).orElseThrow().get(TransportCounter.FRAMES_DISCARDED));
            assertEquals(3, stats.peer(second.address(), PeerStats.Direction.FROM).orElseThrow().get(TransportCounter.FRAMES_DISCARDED));
            assertEquals(8, stats.get(TransportCounter.FRAMES_DISCARDED));
            assertEquals(Map.of(first.address(), 5L, second.address(), 3L), stats.discardedFrames());
            assertEquals(8, stats.get(TransportCounter.INBOX_FRAMES_HIGH));
            assertEquals(0, stats.get(TransportCounter.CONNECTIONS_LOST), "the connections ended because we closed");
        } finally {
            receiver.close();
        }
    }

    /**
     * A raw peer passes the hello, writes a whole frame and the first 104 bytes of a 1004-byte one,
     * and closes: the cut frame was carried for the next read when the connection ended, and must
     * still be counted as discarded for that sender, not released unseen.
     */
    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "IO_URING"})
    void aFrameCutByThePeersCloseIsCountedAsDiscarded(IoMode mode) throws Exception {
        try (Transport receiver = open(mode)) {
            Address peer = Address.of(dir.resolve("raw-peer.sock"));
            ByteBuf bytes = Protocol.encodeHello(ByteBufAllocator.DEFAULT, peer);
            try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                client.connect(UnixDomainSocketAddress.of(receiver.address().toPath()));
                bytes.writeInt(100).writeZero(100).writeInt(1000).writeZero(100);
                ByteBuffer out = bytes.nioBuffer();
                while (out.hasRemaining()) {
                    client.write(out);
                }
            } finally {
                bytes.release();
            }
            take(receiver);
            Await.until("the cut frame is counted as discarded", WAIT,
                    () -> receiver.stats().get(TransportCounter.FRAMES_DISCARDED) == 1);
            assertEquals(1, receiver.stats().peer(peer, PeerStats.Direction.FROM).orElseThrow().get(TransportCounter.FRAMES_DISCARDED));
        }
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void aConnectionLostToAClosedDestinationAndItsReplacementAreCounted(IoMode mode) throws Exception {
        try (Transport sender = open(mode)) {
            Address address;
            try (Transport first = open(mode, TransportConfig.builder().fileName("dest"))) {
                address = first.address();
                sender.send(address, payload(8), WAIT);
                take(first);
            }
            Await.until("the sender saw the destination go", WAIT,
                    () -> sender.stats().get(TransportCounter.CONNECTIONS_LOST) == 1);
            try (Transport second = open(mode, TransportConfig.builder().fileName("dest"))) {
                sender.send(address, payload(8), WAIT);
                take(second);
                assertTrue(sender.flush(WAIT), "written: the write's completion counts it, which may follow its arrival");
                PeerStats to = sender.stats().peer(address, PeerStats.Direction.TO).orElseThrow();
                assertEquals(2, to.get(TransportCounter.CONNECTIONS_OPENED));
                assertEquals(1, to.get(TransportCounter.RECONNECTS));
                assertEquals(1, to.get(TransportCounter.CONNECTIONS_LOST));
                assertEquals(1, to.get(TransportCounter.CONNECTIONS_ACTIVE));
                assertEquals(2, to.get(TransportCounter.FRAMES_SENT));
            }
        }
    }

    @Nested
    class CountersFile {

        @ParameterizedTest
        @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO", "IO_URING"})
        void liesBesideTheSocketFileWithMode0600AndIsUnlinkedOnClose(IoMode mode) throws Exception {
            Path file;
            try (Transport receiver = open(mode); Transport sender = open(mode)) {
                file = CounterMemory.fileOf(receiver.address().toPath());
                assertTrue(Files.exists(file), "counters file " + file);
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
                for (int i = 0; i < 10; i++) {
                    sender.send(receiver.address(), payload(100), WAIT);
                }
                for (int i = 0; i < 10; i++) {
                    take(receiver);
                }
                TransportStats fromFile = NettyTransports.readCounters(receiver.address().toPath()).orElseThrow();
                assertEquals(10, fromFile.get(TransportCounter.FRAMES_RECEIVED));
                assertEquals(1040, fromFile.peer(sender.address(), PeerStats.Direction.FROM).orElseThrow()
                        .get(TransportCounter.BYTES_RECEIVED));
                assertEquals(1, fromFile.connectionsAccepted());
                assertTrue(sender.flush(WAIT));
                assertEquals(10, NettyTransports.readCounters(sender.address().toPath()).orElseThrow()
                        .get(TransportCounter.FRAMES_SENT));
            }
            assertFalse(Files.exists(file), "unlinked on close: " + file);
            assertTrue(NettyTransports.readCounters(dir.resolve("absent")).isEmpty());
        }

        @Test
        void aStaleCountersFileIsReplacedByTheNewOwner() throws Exception {
            Path socket = dir.resolve("stale");
            Path stale = CounterMemory.fileOf(socket);
            byte[] garbage = new byte[4096];
            java.util.Arrays.fill(garbage, (byte) 7);
            Files.write(stale, garbage);
            assertThrows(TransportException.class, () -> NettyTransports.readCounters(socket), "not a counters file");
            try (Transport transport = open(IoMode.AUTO, TransportConfig.builder().fileName("stale"))) {
                TransportStats fresh = NettyTransports.readCounters(socket).orElseThrow();
                assertEquals(0, fresh.get(TransportCounter.FRAMES_RECEIVED));
                assertEquals(CounterMemory.size(CounterMemory.DEFAULT_CAPACITY), Files.size(stale));
            }
            assertFalse(Files.exists(stale));
        }

        @Test
        void anUnwritableDirectoryFallsBackToCountersInMemory() {
            CounterMemory memory = CounterMemory.forSocketFile(dir.resolve("missing").resolve("socket"), 16);
            assertEquals(null, memory.file(), "no file");
            int id = memory.allocate(TransportCounter.FRAMES_SENT.ordinal(), TransportCounters.SCOPE_TRANSPORT, -1, "");
            memory.add(id, 5);
            assertEquals(5, memory.get(id));
        }

        @Test
        void anAbstractAddressHasNoCountersFileButStillCounts() throws Exception {
            Assumptions.assumeTrue(IoMode.EPOLL.isAvailable(), "abstract names need epoll here");
            try (Transport receiver = open(IoMode.EPOLL, TransportConfig.builder().useAbstractNamespace(true));
                    Transport sender = open(IoMode.EPOLL, TransportConfig.builder().useAbstractNamespace(true))) {
                sender.send(receiver.address(), payload(4), WAIT);
                take(receiver);
                assertEquals(1, receiver.stats().get(TransportCounter.FRAMES_RECEIVED));
                try (var files = Files.list(dir)) {
                    assertEquals(List.of(), files.filter(p -> p.toString().endsWith(CounterMemory.SUFFIX)).toList());
                }
            }
        }

        @Test
        void aFullCounterMemoryFreesIdlePeersAndOtherwiseCountsTotalsOnly() {
            TransportCounters counters = new TransportCounters(CounterMemory.inProcess(40));
            PeerCounters a = counters.outbound(Address.of("/tmp/a"));
            PeerCounters b = counters.outbound(Address.of("/tmp/b"));
            a.sent(1, 10);
            PeerCounters c = counters.outbound(Address.of("/tmp/c")); // no room: c counts in the totals only
            assertFalse(c.complete());
            c.sent(2, 20);
            a.release();
            PeerCounters d = counters.outbound(Address.of("/tmp/d")); // a is idle: freed for d
            assertTrue(d.complete());
            TransportStats stats = counters.snapshot(Map.of());
            assertEquals(3, stats.get(TransportCounter.FRAMES_SENT));
            assertEquals(List.of(Address.of("/tmp/b"), Address.of("/tmp/d")),
                    stats.peers().stream().map(PeerStats::peer).sorted(java.util.Comparator.comparing(Address::path)).toList());
            b.release();
            c.release();
            d.release();
        }
    }
}
