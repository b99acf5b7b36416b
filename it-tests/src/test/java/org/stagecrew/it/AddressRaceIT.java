package org.stagecrew.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * One owner per address across processes: two warm JVMs ({@link AddressRacer}) are told to open the
 * same socket file at the same moment, round after round, with nothing at the path and with the
 * stale socket and lock files a killed owner leaves. In every round exactly one opens and the other
 * gets AddressInUseException naming the path; a frame from a third process (this one) reaches the
 * one that opened; its close leaves no file. Last, an owner killed with SIGKILL leaves its files,
 * and the other JVM replaces them and is reached.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class AddressRaceIT {
    static final int ROUNDS = 12;
    static final long CHURN_MILLIS = 3_000;
    /** Above Linux's largest pid_max (2^22): the pid of no live process. */
    static final long DEAD_PID = 999_999_999L;
    static final Duration WAIT = Duration.ofSeconds(60);
    static final String NAME = "race.sock";
    static final String[] JVM = {"-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};

    Path dir;
    final List<Racer> racers = new ArrayList<>();

    @BeforeEach
    void createDirectory() throws IOException {
        dir = Files.createTempDirectory("sc-race-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    @AfterEach
    void stopRacersAndRemoveDirectory() throws IOException {
        racers.forEach(Racer::close);
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "KQUEUE", "NIO"})
    void twoJvmsOpeningOneAddressAtOnceMakeExactlyOneOwnerAndAKilledOwnersFilesAreReplaced(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        Racer a = start("a"), b = start("b");
        for (Racer r : List.of(a, b)) {
            r.tell("WARM " + mode + " " + dir);
        }
        for (Racer r : List.of(a, b)) {
            r.expect("WARMED");
        }
        Path socketFile = dir.resolve(NAME);
        Path lockFile = dir.resolve(NAME + ".lock");
        int bothOpened = 0;
        List<String> anomalies = new ArrayList<>();
        for (int round = 0; round < 2 * ROUNDS; round++) {
            boolean stale = round >= ROUNDS;
            if (stale) {
                leaveStaleFiles(socketFile, lockFile);
            }
            a.tell("OPEN " + mode + " " + dir + " " + NAME);
            b.tell("OPEN " + mode + " " + dir + " " + NAME);
            String answerA = a.answer(), answerB = b.answer();
            boolean openedA = answerA.equals("OPENED"), openedB = answerB.equals("OPENED");
            String label = "round " + round + (stale ? " (stale files)" : "");
            if (openedA && openedB) {
                bothOpened++;
            } else if (!openedA && !openedB) {
                anomalies.add(label + ": neither opened: " + answerA + " / " + answerB);
            } else {
                String loser = openedA ? answerB : answerA;
                // The owner's pid, once it has written it; "another process" if the loser looked just before.
                String owner = loser.contains("owned by another process") ? "another process" : "process " + (openedA ? a : b).pid;
                if (!loser.startsWith("IN_USE ") || !loser.contains(socketFile.toString()) || !loser.contains("owned by " + owner + ",")) {
                    anomalies.add(label + ": the loser answered " + loser);
                }
                String reached = sendAndReceive(mode, socketFile, openedA ? a : b, label);
                if (!reached.equals("RECEIVED " + label)) {
                    anomalies.add(label + ": a frame sent to the address did not reach its owner: " + reached);
                }
            }
            a.tell("CLOSE");
            b.tell("CLOSE");
            a.expect("CLOSED");
            b.expect("CLOSED");
            for (Path left : List.of(socketFile, lockFile)) {
                if (Files.exists(left, LinkOption.NOFOLLOW_LINKS)) {
                    anomalies.add(label + ": " + left + " left behind after the owner closed");
                    Files.delete(left);
                }
            }
        }
        System.out.printf("[AddressRaceIT] %s: both JVMs opened %s in %d of %d rounds; %d other anomalies%n",
                mode, socketFile, bothOpened, 2 * ROUNDS, anomalies.size());
        int both = bothOpened;
        assertTrue(both == 0 && anomalies.isEmpty(), () -> mode + ": both JVMs opened the address in " + both + " of "
                + 2 * ROUNDS + " rounds; other anomalies: " + anomalies);

        a.tell("CHURN " + mode + " " + dir + " " + NAME + " " + CHURN_MILLIS);
        b.tell("CHURN " + mode + " " + dir + " " + NAME + " " + CHURN_MILLIS);
        String churnA = a.answer(), churnB = b.answer();
        System.out.printf("[AddressRaceIT] %s: both JVMs opening and closing for %d ms: a %s; b %s%n", mode, CHURN_MILLIS, churnA, churnB);
        for (String churn : List.of(churnA, churnB)) {
            assertTrue(churn.startsWith("CHURNED ") && churn.contains(" overlaps=0 ") && churn.contains(" misrouted=0 ")
                    && churn.contains(" failures=0 "), () -> mode + ": two owners at once, a lost frame or a failure: a " + churnA + "; b " + churnB);
        }
        assertTrue(!churnA.contains("opened=0 ") && !churnB.contains("opened=0 "),
                "both JVMs owned the address at times during the churn, so that it changed hands");

        a.tell("OPEN " + mode + " " + dir + " " + NAME);
        a.expect("OPENED");
        a.kill();
        assertTrue(Files.exists(socketFile, LinkOption.NOFOLLOW_LINKS) && Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS),
                "an owner killed with SIGKILL leaves its socket file and lock file behind");
        b.tell("OPEN " + mode + " " + dir + " " + NAME);
        b.expect("OPENED");
        assertEquals("RECEIVED after the kill", sendAndReceive(mode, socketFile, b, "after the kill"));
        b.tell("CLOSE");
        b.expect("CLOSED");
        assertTrue(!Files.exists(socketFile, LinkOption.NOFOLLOW_LINKS) && !Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS),
                "the new owner's close removes both files");
    }

    /** Sends {@code text} to the address from this JVM and returns the owner's answer to RECEIVE. */
    private String sendAndReceive(IoMode mode, Path socketFile, Racer owner, String text) throws Exception {
        try (Transport sender = Transport.open(TransportConfig.builder().ioMode(mode).socketDirectory(dir).build())) {
            sender.send(Address.of(socketFile), ByteBufUtil.writeUtf8(PooledByteBufAllocator.DEFAULT, text))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        owner.tell("RECEIVE");
        return owner.answer();
    }

    /** What an owner killed with SIGKILL leaves: its socket file (no listener) and its lock file (no lock held). */
    private static void leaveStaleFiles(Path socketFile, Path lockFile) throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socketFile));
        }
        Files.writeString(lockFile, DEAD_PID + "\n");
    }

    private Racer start(String name) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(JVM));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(AddressRacer.class.getName());
        Path log = dir.resolve(name + ".log");
        Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
        Racer racer = new Racer(name, process, log);
        racers.add(racer);
        assertTrue(racer.answer().startsWith("READY "), "racer " + name + " started");
        return racer;
    }

    /** One child JVM: commands to its stdin, answers from its stdout through a reader thread, each awaited with a timeout. */
    static final class Racer implements AutoCloseable {
        final String name;
        final Process process;
        final Path log;
        final long pid;
        final Writer stdin;
        final BlockingQueue<String> answers = new LinkedBlockingQueue<>();

        Racer(String name, Process process, Path log) {
            this.name = name;
            this.process = process;
            this.log = log;
            this.pid = process.pid();
            this.stdin = new OutputStreamWriter(process.getOutputStream(), UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
                    for (String line; (line = out.readLine()) != null; ) {
                        answers.add(line);
                    }
                } catch (IOException e) {
                    answers.add("FAILED reading stdout: " + e);
                }
            }, "racer-" + name + "-stdout");
            reader.setDaemon(true);
            reader.start();
        }

        void tell(String command) {
            try {
                stdin.write(command + "\n");
                stdin.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("racer " + name + " did not take '" + command + "'; its log: " + log, e);
            }
        }

        String answer() throws InterruptedException {
            String line = answers.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            if (line == null) {
                fail("racer " + name + " did not answer within " + WAIT + "; its log: " + log);
            }
            return line;
        }

        void expect(String answer) throws InterruptedException {
            assertEquals(answer, answer(), "answer of racer " + name);
        }

        void kill() throws InterruptedException {
            process.destroyForcibly(); // SIGKILL on Linux and macOS
            assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "racer " + name + " died of SIGKILL");
        }

        @Override
        public void close() {
            try {
                stdin.close();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    kill();
                }
            } catch (IOException | InterruptedException e) {
                process.destroyForcibly();
            }
        }
    }
}
