package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.Background;

/**
 * One owner per address when two threads of one JVM open the same address at the same moment, in
 * every mode: exactly one gets a transport, the other {@link AddressInUseException} naming the
 * address, and a frame sent to the address reaches the one that won. Run with no file at the path,
 * with the stale socket file and lock file that a process killed with SIGKILL leaves, and with an
 * abstract name where the mode has them. The cross-process race is {@code AddressRaceIT} in it-tests.
 */
@Timeout(value = 300, unit = SECONDS)
class AddressRaceTest {
    private static final int ROUNDS = 40;
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String NAME = "race.sock";

    /** What is at the address when the two threads race for it. */
    enum Start {
        NO_FILE, STALE_FILES, ABSTRACT_NAME
    }

    @TempDir
    Path dir;

    static Stream<Arguments> modesAndStarts() {
        List<Arguments> cases = new ArrayList<>();
        for (IoMode mode : List.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.KQUEUE, IoMode.NIO, IoMode.LOCAL)) {
            cases.add(Arguments.of(mode, Start.NO_FILE));
            if (mode.usesSocketFiles()) {
                cases.add(Arguments.of(mode, Start.STALE_FILES));
            }
            if (mode == IoMode.EPOLL || mode == IoMode.IO_URING || mode == IoMode.LOCAL) {
                cases.add(Arguments.of(mode, Start.ABSTRACT_NAME));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("modesAndStarts")
    void twoThreadsOpeningOneAddressAtOnceMakeExactlyOneOwnerThatFramesReach(IoMode mode, Start start) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        TransportConfig config = TransportConfig.builder().socketDirectory(dir).fileName(NAME).ioMode(mode)
                .useAbstractNamespace(start == Start.ABSTRACT_NAME).build();
        Path socketFile = dir.resolve(NAME);
        int bothOpened = 0;
        List<String> anomalies = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            if (start == Start.STALE_FILES) {
                leaveStaleFiles(socketFile);
            }
            CyclicBarrier barrier = new CyclicBarrier(2);
            CompletableFuture<Transport> a = Background.call("race-a-" + round, () -> openAtOnce(barrier, config));
            CompletableFuture<Transport> b = Background.call("race-b-" + round, () -> openAtOnce(barrier, config));
            Transport winnerA = outcome(a, round, anomalies);
            Transport winnerB = outcome(b, round, anomalies);
            try {
                if (winnerA != null && winnerB != null) {
                    bothOpened++;
                } else if (winnerA == null && winnerB == null) {
                    anomalies.add("round " + round + ": neither opened");
                } else {
                    Transport winner = winnerA != null ? winnerA : winnerB;
                    checkReached(winner, round, anomalies);
                }
            } finally {
                closeQuietly(winnerA);
                closeQuietly(winnerB);
            }
            if (mode.usesSocketFiles() && start != Start.ABSTRACT_NAME) {
                for (Path left : List.of(socketFile, lockFileOf(socketFile))) {
                    if (Files.exists(left, LinkOption.NOFOLLOW_LINKS)) {
                        anomalies.add("round " + round + ": " + left + " left behind after the owner closed");
                        Files.delete(left);
                    }
                }
            }
        }
        System.out.printf("AddressRaceTest %s %s: both opened in %d of %d rounds%n", mode, start, bothOpened, ROUNDS);
        int both = bothOpened;
        assertTrue(both == 0 && anomalies.isEmpty(), () -> mode + ", " + start + ": both threads opened the address in "
                + both + " of " + ROUNDS + " rounds; " + anomalies.size() + " other anomalies, the first: "
                + anomalies.subList(0, Math.min(3, anomalies.size())));
    }

    private static Transport openAtOnce(CyclicBarrier barrier, TransportConfig config) throws Exception {
        barrier.await(WAIT.toSeconds(), SECONDS);
        return Transport.open(config);
    }

    /** The transport a racer opened, or null after recording its failure unless it is the expected address-in-use. */
    private static Transport outcome(CompletableFuture<Transport> racer, int round, List<String> anomalies) throws Exception {
        try {
            return racer.get(WAIT.toSeconds() * 2, SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (!(cause instanceof AddressInUseException) || !String.valueOf(cause.getMessage()).contains(NAME)) {
                anomalies.add("round " + round + ": " + cause);
            }
            return null;
        }
    }

    private static void checkReached(Transport winner, int round, List<String> anomalies) throws Exception {
        String text = "round " + round;
        winner.send(winner.address(), ByteBufUtil.writeUtf8(PooledByteBufAllocator.DEFAULT, text)).get(WAIT.toSeconds(), SECONDS);
        try (Frame frame = winner.receive(WAIT)) {
            if (frame == null || !text.equals(frame.payload().toString(UTF_8))) {
                anomalies.add(text + ": the frame sent to the address did not reach the owner");
            }
        }
    }

    private static void closeQuietly(Transport transport) {
        if (transport != null) {
            transport.close();
        }
    }

    /** What an owner killed with SIGKILL leaves: its socket file (no listener) and its lock file (no lock held). */
    private static void leaveStaleFiles(Path socketFile) throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socketFile));
        }
        Files.writeString(lockFileOf(socketFile), "4242\n");
        assertTrue(Files.exists(socketFile, LinkOption.NOFOLLOW_LINKS), "stale socket file left behind");
    }

    private static Path lockFileOf(Path socketFile) {
        return socketFile.resolveSibling(socketFile.getFileName() + ".lock");
    }
}
