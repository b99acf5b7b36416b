package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.UnknownAddressException;

/**
 * Transports of different socket modes speak the same wire protocol: every ordered pair of distinct
 * modes among EPOLL, IO_URING and NIO exchanges frames both ways. A pair with a mode that cannot run
 * here is skipped with that mode's {@link IoMode#unavailabilityCause()}. Pairs of one mode are the
 * contract suites' round trips ({@code LocalTransportTest} for LOCAL); LOCAL and the socket modes
 * cannot reach each other, and a send between them says so.
 */
@Timeout(value = 60, unit = SECONDS)
class CrossModeTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final List<IoMode> SOCKET_MODES = List.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.NIO);

    @TempDir
    Path dir;

    static Stream<Arguments> orderedPairsOfSocketModes() {
        return SOCKET_MODES.stream().flatMap(a -> SOCKET_MODES.stream().filter(b -> b != a).map(b -> Arguments.of(a, b)));
    }

    @ParameterizedTest(name = "{0} sends to {1}, {1} replies")
    @MethodSource("orderedPairsOfSocketModes")
    void aTransportSendsToOneOfAnotherModeWhichRepliesToTheFramesSender(IoMode a, IoMode b) throws Exception {
        assumeAvailable(a);
        assumeAvailable(b);
        try (Transport first = open(a); Transport second = open(b)) {
            first.send(second.address(), ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, "request from " + a))
                    .get(WAIT.toSeconds(), SECONDS);

            try (Frame request = second.receive(WAIT)) {
                assertNotNull(request, () -> "nothing reached the " + b + " transport within " + WAIT);
                assertEquals(first.address(), request.sender());
                assertEquals("request from " + a, request.payload().toString(UTF_8));
                second.send(request.sender(), ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, "reply from " + b))
                        .get(WAIT.toSeconds(), SECONDS);
            }
            try (Frame reply = first.receive(WAIT)) {
                assertNotNull(reply, () -> "nothing reached the " + a + " transport within " + WAIT);
                assertEquals(second.address(), reply.sender());
                assertEquals("reply from " + b, reply.payload().toString(UTF_8));
            }
        }
    }

    @Test
    void aLocalTransportAndASocketTransportCannotReachEachOtherAndEachSendSaysTheAddressIsUnknown() {
        try (Transport local = open(IoMode.LOCAL); Transport nio = open(IoMode.NIO)) {
            UnknownAddressException toLocal = assertFailsWith(UnknownAddressException.class,
                    nio.send(local.address(), ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, "hello in-JVM?")));
            assertTrue(toLocal.getMessage().contains(local.address().path()), toLocal::getMessage);

            UnknownAddressException toNio = assertFailsWith(UnknownAddressException.class,
                    local.send(nio.address(), ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, "hello socket?")));
            assertTrue(toNio.getMessage().contains(nio.address().path()), toNio::getMessage);
        }
    }

    private static <T extends Throwable> T assertFailsWith(Class<T> type, CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(WAIT.toSeconds(), SECONDS),
                () -> "expected the future to fail with " + type.getSimpleName() + " within " + WAIT);
        return assertInstanceOf(type, e.getCause());
    }

    static void assumeAvailable(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available on "
                + System.getProperty("os.name") + ": " + mode.unavailabilityCause());
    }

    private Transport open(IoMode mode) {
        return Transport.open(TransportConfig.builder().socketDirectory(dir).ioMode(mode).build());
    }
}
