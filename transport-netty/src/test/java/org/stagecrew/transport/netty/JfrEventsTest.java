package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import jdk.jfr.EventType;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportTimeoutException;

/** The JFR events of {@link Jfr}, recorded with a {@link RecordingStream} while each is provoked over real sockets. */
@Timeout(value = 60, unit = SECONDS)
class JfrEventsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    private final LinkedBlockingQueue<RecordedEvent> events = new LinkedBlockingQueue<>();
    private final List<RecordedEvent> seen = new ArrayList<>();
    private RecordingStream recording;

    @BeforeEach
    void startRecording() {
        recording = new RecordingStream();
        for (String name : List.of("stagecrew.ConnectionEstablished", "stagecrew.ConnectionLost", "stagecrew.ConnectionRefused",
                "stagecrew.ProtocolError", "stagecrew.BackPressureStall")) {
            recording.enable(name);
        }
        recording.onEvent(events::add);
        recording.startAsync();
    }

    @AfterEach
    void stopRecording() {
        recording.close();
    }

    private Transport open(TransportConfig.Builder config) {
        return Transport.open(config.socketDirectory(dir).build());
    }

    /** The first event (seen before or arriving within {@link #WAIT}) of {@code name} that {@code test} accepts. */
    private RecordedEvent await(String name, Predicate<RecordedEvent> test) throws InterruptedException {
        Predicate<RecordedEvent> wanted = e -> e.getEventType().getName().equals(name) && test.test(e);
        for (RecordedEvent e : seen) {
            if (wanted.test(e)) {
                return e;
            }
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            RecordedEvent e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertTrue(e != null, () -> "no " + name + " event as expected within " + WAIT + "; seen: " + seen);
            seen.add(e);
            if (wanted.test(e)) {
                return e;
            }
        }
    }

    private static Predicate<RecordedEvent> between(Address local, Address peer, boolean inbound) {
        return e -> e.getString("localAddress").equals(local.toString()) && e.getString("peerAddress").equals(peer.toString())
                && e.getBoolean("inbound") == inbound;
    }

    private static ByteBuf payload(int length) {
        return ByteBufAllocator.DEFAULT.directBuffer(length).writeZero(length);
    }

    @Test
    void connectionsEstablishedAndLostNameBothAddressesAndThePeersPid() throws Exception {
        try (Transport a = open(TransportConfig.builder())) {
            Transport b = open(TransportConfig.builder());
            try {
                a.send(b.address(), payload(8), WAIT);
                assertTrue(a.flush(WAIT));
                RecordedEvent out = await("stagecrew.ConnectionEstablished", between(a.address(), b.address(), false));
                assertEquals(PID, out.getLong("peerPid"), "from the destination's lock file");
                RecordedEvent in = await("stagecrew.ConnectionEstablished", between(b.address(), a.address(), true));
                assertEquals(PID, in.getLong("peerPid"), "from the kernel's peer credentials");
            } finally {
                b.close();
            }
            RecordedEvent lost = await("stagecrew.ConnectionLost", between(a.address(), b.address(), false));
            assertEquals(Protocol.SHUTTING_DOWN, lost.getInt("noticeCode"));
            assertTrue(lost.getString("reason").contains("is closing"), lost.getString("reason"));
        }
    }

    @Test
    void aRefusalIsRecordedOnBothSidesWithItsCodeAndReason() throws Exception {
        try (Transport a = open(TransportConfig.builder()); Transport strict = open(TransportConfig.builder().peerPolicy(p -> false))) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> a.send(strict.address(), payload(8)).get(WAIT.toSeconds(), SECONDS));
            assertInstanceOf(PeerRejectedException.class, e.getCause());
            RecordedEvent out = await("stagecrew.ConnectionRefused", between(a.address(), strict.address(), false));
            assertEquals(Protocol.NOT_ALLOWED, out.getInt("noticeCode"));
            assertTrue(out.getString("reason").contains("not allowed by the peer policy"), out.getString("reason"));
            RecordedEvent in = await("stagecrew.ConnectionRefused", e2 -> e2.getString("localAddress").equals(strict.address().toString())
                    && e2.getBoolean("inbound"));
            assertEquals(Protocol.NOT_ALLOWED, in.getInt("noticeCode"));
            assertEquals(PID, in.getLong("peerPid"));
        }
    }

    @Test
    void aFrameAboveTheMaximumIsAProtocolErrorNamingTheSender() throws Exception {
        try (Transport small = open(TransportConfig.builder().maxFrameLength(16))) {
            Address raw = Address.of(dir.resolve("raw.sock"));
            byte[] address = raw.path().getBytes(StandardCharsets.UTF_8);
            try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                client.connect(UnixDomainSocketAddress.of(small.address().toPath()));
                ByteBuffer bytes = ByteBuffer.allocate(7 + address.length + 4).putInt(Protocol.MAGIC).put((byte) 1)
                        .putShort((short) address.length).put(address).putInt(1000).flip();
                while (bytes.hasRemaining()) {
                    client.write(bytes);
                }
                RecordedEvent error = await("stagecrew.ProtocolError", between(small.address(), raw, true));
                assertEquals(PID, error.getLong("peerPid"));
                assertTrue(error.getString("reason").contains("frame length 1000 exceeds maxFrameLength 16"), error.getString("reason"));
            }
        }
    }

    @Test
    void aBlockingSendThatWaitsLongerThanTheThresholdIsABackPressureStall() throws Exception {
        assertTrue(EventType.getEventType(Jfr.BackPressureStall.class).getSettingDescriptors().stream()
                .anyMatch(s -> s.getName().equals("threshold") && s.getDefaultValue().equals("10 ms")), "default threshold 10 ms");
        try (Transport receiver = open(TransportConfig.builder().inboxCapacity(16, 64 * 1024));
                Transport sender = open(TransportConfig.builder().writeBufferWaterMark(16 * 1024, 64 * 1024)
                        .undeliverableHandler((to, frames, cause) -> { }))) {
            Duration timeout = Duration.ofMillis(200);
            boolean stalled = false;
            for (int i = 0; i < 8192 && !stalled; i++) { // the receiver never reads: its inbox, sockets and our budget fill
                try {
                    sender.send(receiver.address(), payload(4096), timeout);
                } catch (TransportTimeoutException e) {
                    stalled = true;
                }
            }
            assertTrue(stalled, "the sender was never back-pressured");
            // Earlier sends may have stalled shortly too (above the threshold: recorded); the one that timed out waited longest.
            RecordedEvent stall = await("stagecrew.BackPressureStall", between(sender.address(), receiver.address(), false)
                    .and(e -> e.getDuration().compareTo(timeout.minusMillis(50)) >= 0));
            for (RecordedEvent e : seen) {
                if (e.getEventType().getName().equals("stagecrew.BackPressureStall")) {
                    assertTrue(e.getDuration().toMillis() >= 10, () -> "a stall below the 10 ms threshold was recorded: " + e);
                }
            }
            assertEquals(PID, stall.getLong("peerPid"));
            assertTrue(stall.getLong("queuedBytes") > 0, stall::toString);
        }
    }
}
