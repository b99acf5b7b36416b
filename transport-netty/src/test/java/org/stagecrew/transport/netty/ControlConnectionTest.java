package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ConnectionRefusedException;
import org.stagecrew.transport.ControlConnection;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.UnknownAddressException;

/** {@link NettyTransports#connectControl} against real transports and listeners over Unix Domain Sockets. */
@Timeout(value = 60, unit = SECONDS)
class ControlConnectionTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private Transport open(TransportConfig.Builder config) {
        return Transport.open(config.socketDirectory(dir).build());
    }

    private static TransportException failure(CompletableFuture<?> future) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(WAIT.toSeconds(), SECONDS));
        return assertInstanceOf(TransportException.class, e.getCause());
    }

    @Test
    void aTransportAnswersPingsWithoutItsApplicationAndSaysWhenItCloses() throws Exception {
        Transport peer = open(TransportConfig.builder());
        try (ControlConnection control = NettyTransports.connectControl(peer.address(), WAIT).get(WAIT.toSeconds(), SECONDS)) {
            for (int i = 0; i < 3; i++) {
                Duration rtt = control.ping(WAIT);
                assertFalse(rtt.isNegative());
                assertTrue(rtt.compareTo(WAIT) < 0, rtt::toString);
            }
            assertNull(peer.receive(Duration.ofMillis(50)), "a ping reached the application");
            assertFalse(control.ended().isDone());

            peer.close();
            TransportException end = control.ended().get(WAIT.toSeconds(), SECONDS);
            assertInstanceOf(TransportClosedException.class, end);
            assertFalse(end instanceof PeerDiedException, "an orderly close is not a death: " + end);
            assertTrue(end.getMessage().contains("closing"), end.getMessage());
            assertThrows(TransportClosedException.class, () -> control.ping(WAIT));
        } finally {
            peer.close();
        }
    }

    @Test
    void aPeerThePolicyRefusesAnswersNotAllowedWithItsReason() throws Exception {
        try (Transport peer = open(TransportConfig.builder().peerPolicy(credentials -> false))) {
            PeerRejectedException e = assertInstanceOf(PeerRejectedException.class,
                    failure(NettyTransports.connectControl(peer.address(), WAIT)));
            assertEquals(Protocol.NOT_ALLOWED, e.code());
            assertTrue(e.reason().contains("not allowed by the peer policy"), e.reason());
        }
    }

    @Test
    void aMissingSocketFileIsAnUnknownAddressNamingThePath() throws Exception {
        Address missing = Address.of(dir.resolve("nobody.sock"));
        TransportException e = assertInstanceOf(UnknownAddressException.class, failure(NettyTransports.connectControl(missing, WAIT)));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("no socket file"), e.getMessage());
    }

    @Test
    void aStaleSocketFileIsARefusedConnectionThatSaysWhatToDo() throws Exception {
        Path stale = dir.resolve("stale.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(stale));
        server.close(); // the JDK leaves the file behind, as a killed process does
        assertTrue(Files.exists(stale));
        TransportException e = assertInstanceOf(ConnectionRefusedException.class,
                failure(NettyTransports.connectControl(Address.of(stale), WAIT)));
        assertTrue(e.getMessage().contains(stale.toString()) && e.getMessage().contains("stagecrew clean"), e.getMessage());
    }

    @Test
    void aVersion1OnlyListenerRefusesTheHelloAndTheRefusalSaysSo() throws Exception {
        Path path = dir.resolve("v1.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            CompletableFuture<ControlConnection> control = NettyTransports.connectControl(Address.of(path), WAIT);
            byte[] hello = answerAsVersion1(server);
            assertEquals(Protocol.VERSION_2, hello[4], "the connector's hello is version 2");
            assertEquals(Protocol.KIND_CONTROL, hello[hello.length - 1], "of kind CONTROL");
            PeerRejectedException e = assertInstanceOf(PeerRejectedException.class, failure(control));
            assertEquals(Protocol.UNSUPPORTED_VERSION, e.code());
            assertTrue(e.reason().contains("speaks 1"), e.reason());
        }
    }

    @Test
    void aPeerKilledUnderTheConnectionEndsItAsADeath() throws Exception {
        Path path = dir.resolve("dies.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            CompletableFuture<ControlConnection> connecting = NettyTransports.connectControl(Address.of(path), WAIT);
            SocketChannel accepted = server.accept();
            ControlConnection control;
            try {
                readHello(accepted);
                accepted.write(ByteBuffer.wrap(new byte[] {0x53, 0x43, 0x52, 0x57, 2, 0, 0, 4, 0, 0, 0, 8}));
                control = connecting.get(WAIT.toSeconds(), SECONDS);
            } finally {
                accepted.close(); // no notice: what a SIGKILL leaves
            }
            assertInstanceOf(PeerDiedException.class, control.ended().get(WAIT.toSeconds(), SECONDS));
            control.close();
        }
    }

    /** Accepts one connection, reads its hello and answers UNSUPPORTED_VERSION as a version 1 listener does. */
    static byte[] answerAsVersion1(ServerSocketChannel server) throws IOException {
        try (SocketChannel peer = server.accept()) {
            byte[] hello = readHello(peer);
            byte[] reason = ("protocol version " + hello[4] + " is not supported; this endpoint speaks 1").getBytes(StandardCharsets.UTF_8);
            ByteBuffer notice = ByteBuffer.allocate(8 + reason.length).putInt(Protocol.MAGIC).put((byte) 1)
                    .put((byte) Protocol.UNSUPPORTED_VERSION).putShort((short) reason.length).put(reason).flip();
            while (notice.hasRemaining()) {
                peer.write(notice);
            }
            return hello;
        }
    }

    /** Reads a version 2 hello: header, address, kind byte. */
    private static byte[] readHello(SocketChannel peer) throws IOException {
        ByteBuffer header = readFully(peer, 7);
        int length = header.getShort(5) & 0xFFFF;
        ByteBuffer rest = readFully(peer, length + 1);
        return ByteBuffer.allocate(7 + length + 1).put(header.flip()).put(rest.flip()).array();
    }

    private static ByteBuffer readFully(SocketChannel peer, int n) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(n);
        while (buffer.hasRemaining()) {
            if (peer.read(buffer) < 0) {
                throw new IOException("the connector closed after " + buffer.position() + " of " + n + " bytes");
            }
        }
        return buffer;
    }
}
