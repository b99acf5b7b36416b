package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.OfferResult;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.test.Background;

/** The contract's lifecycle part: open, close, what a close releases and what it fails. */
abstract class LifecycleContract extends AddressingContract {

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
}
