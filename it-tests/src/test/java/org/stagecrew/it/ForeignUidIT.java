package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.PeerPolicy;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * A peer running as another user (uid 65534, "nobody", started with {@code setpriv}) is refused
 * NOT_ALLOWED by an endpoint with the default policy, which counts and logs it, and is let in by
 * one whose allowlist names it; for every socket mode available here. Needs root (to start a
 * process as another uid), so it is skipped, with that reason, otherwise.
 *
 * <p>The foreign peer is {@code ForeignUidClient.java} (a test resource) run by the JDK's source
 * launcher: nobody cannot read the Maven repository under /root, so it cannot start a JVM on our
 * class path, but it can read the JDK and a world-readable copy of one source file. One run of it
 * tries every endpoint.
 */
@StagecrewTest
class ForeignUidIT {
    static final int NOBODY = 65534;
    static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(60);
    static final List<IoMode> SOCKET_MODES = List.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.NIO);

    /** One endpoint, and what the foreign peer must read from it. */
    record Case(Transport endpoint, IoMode mode, String policy, int expectedCode, String reasonPart) {
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aPeerOfAnotherUidIsRejectedCountedAndLoggedByDefaultAndLetInWhenTheAllowlistNamesIt(Stage stage) throws Exception {
        assumeTrue(PeerCredentials.ofThisProcess().uid() == 0,
                "runs only as root: it needs root to start a peer as uid " + NOBODY + " with setpriv");
        assumeTrue(Files.isExecutable(SETPRIV), SETPRIV + " (util-linux) is not on this machine: it starts the peer as another uid");

        Path socketDirectory = Files.createTempDirectory("sc-foreign-");
        Path clientDirectory = Files.createTempDirectory("sc-client-");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream originalErr = System.err;
        Process client = null;
        List<Case> cases = new ArrayList<>();
        List<Transport> opened = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        try {
            // nobody may traverse the directory but not write it (SocketFiles accepts that: not group/other-writable).
            Files.setPosixFilePermissions(socketDirectory, PosixFilePermissions.fromString("rwx--x--x"));
            Files.setPosixFilePermissions(clientDirectory, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path source = clientDirectory.resolve("ForeignUidClient.java");
            try (InputStream in = ForeignUidIT.class.getResourceAsStream("ForeignUidClient.java")) {
                Files.copy(in, source);
            }
            Files.setPosixFilePermissions(source, PosixFilePermissions.fromString("rw-r--r--"));
            // The transports in this JVM log with slf4j-simple to System.err, which it looks up on every line.
            System.setErr(new PrintStream(new Tee(originalErr, log), true, StandardCharsets.UTF_8));

            for (IoMode mode : SOCKET_MODES) {
                if (!mode.isAvailable()) {
                    skipped.add(mode + " (" + mode.unavailabilityCause() + ")");
                    continue;
                }
                String self = mode == IoMode.NIO ? "user nobody" : "uid " + NOBODY;
                cases.add(new Case(open(stage, socketDirectory, mode, "default", PeerPolicy.sameUser()), mode,
                        "default (sameUser)", RawClient.NOT_ALLOWED, self));
                cases.add(new Case(open(stage, socketDirectory, mode, "allow", PeerPolicy.sameUser().or(PeerPolicy.uids(NOBODY))),
                        mode, "sameUser().or(uids(" + NOBODY + "))", mode == IoMode.NIO ? RawClient.NOT_ALLOWED : RawClient.ACCEPTED,
                        mode == IoMode.NIO ? "user nobody" : null));
                if (mode == IoMode.NIO) {
                    // NIO learns the peer's user name only, so its uid is -1 and uids() cannot match it (see PeerCredentials);
                    // a predicate on the name is how an NIO endpoint lets a foreign user in.
                    cases.add(new Case(open(stage, socketDirectory, mode, "allow-name",
                            PeerPolicy.sameUser().or(peer -> "nobody".equals(peer.user()))), mode,
                            "sameUser().or(user nobody)", RawClient.ACCEPTED, null));
                }
            }
            // Left at 0600 and admitting anyone: only the file permissions stand between it and the foreign peer.
            Transport guarded = stage.openTransport(stage.config().toBuilder().socketDirectory(socketDirectory)
                    .fileName("private.sock").peerPolicy(PeerPolicy.anyone()).build());
            opened.add(guarded);
            List<String> paths = new ArrayList<>();
            cases.forEach(c -> paths.add(c.endpoint().address().path()));
            paths.add(guarded.address().path());

            List<String> command = new ArrayList<>(List.of(SETPRIV.toString(), "--reuid=" + NOBODY, "--regid=" + NOBODY,
                    "--clear-groups", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:-UsePerfData", "-Xshare:auto", source.toString()));
            command.addAll(paths);
            Path output = clientDirectory.resolve("output.txt");
            client = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            long pid = client.pid(); // setpriv execs the JVM: same process
            boolean ended = client.waitFor(CLIENT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            String text = Files.readString(output);
            assertTrue(ended, () -> "the foreign peer ended within " + CLIENT_TIMEOUT + "; output so far:\n" + text);
            assertEquals(0, client.exitValue(), () -> "the foreign peer's exit code; output:\n" + text);

            Map<String, String> answers = new LinkedHashMap<>();
            for (String line : text.split("\n")) {
                String[] parts = line.split(" ", 3);
                if (parts.length == 3 && (parts[0].equals("NOTICE") || parts[0].equals("FAILED"))) {
                    answers.put(parts[1], parts[0] + " " + parts[2]);
                }
            }
            System.setErr(originalErr);
            String logged = log.toString(StandardCharsets.UTF_8);

            StringBuilder table = new StringBuilder(String.format("%-8s | %-32s | %s%n", "mode", "peer policy", "what the peer read"));
            for (Case c : cases) {
                String answer = answers.getOrDefault(c.endpoint().address().path(), "(nothing)");
                table.append(String.format("%-8s | %-32s | %s; stats %s%n", c.mode(), c.policy(), answer, c.endpoint().stats()));
            }
            table.append(String.format("%-8s | %-32s | %s%n", "AUTO", "anyone(), socket file left 0600",
                    answers.getOrDefault(guarded.address().path(), "(nothing)")));
            System.out.printf("[ForeignUidIT] a peer started with setpriv as uid %d (pid %d) said a valid hello to each endpoint%s:%n%s",
                    NOBODY, pid, skipped.isEmpty() ? "" : " (not available here: " + skipped + ")", table);

            assertTrue(text.startsWith("UID " + NOBODY), () -> "the peer ran as uid " + NOBODY + ":\n" + text);
            for (Case c : cases) {
                String path = c.endpoint().address().path();
                String answer = answers.get(path);
                String what = c.mode() + " endpoint with policy " + c.policy();
                assertTrue(answer != null && answer.startsWith("NOTICE " + c.expectedCode() + " "),
                        () -> what + ": expected notice code " + c.expectedCode() + ", got " + answer + "\n" + text);
                if (c.expectedCode() == RawClient.ACCEPTED) {
                    assertEquals(1, c.endpoint().stats().connectionsAccepted(), () -> what + ": counted as accepted");
                    continue;
                }
                assertTrue(answer.contains(c.reasonPart()), () -> what + ": the reason names the peer's " + c.reasonPart() + ": " + answer);
                assertEquals(1, c.endpoint().stats().connectionsRejected(), () -> what + ": counted as rejected");
                String line = logged.lines().filter(l -> l.contains("rejected connection to " + path + " from")).findFirst().orElse("");
                assertTrue(line.contains(c.reasonPart()) && line.contains("NOT_ALLOWED"),
                        () -> what + ": the rejection is logged with the peer's identity; log line: '" + line + "'");
                if (c.mode() != IoMode.NIO) {
                    assertTrue(line.contains("pid " + pid + ","), () -> what + ": the log names the kernel-verified pid " + pid + ": " + line);
                }
            }
            // File permissions are the first guard: a socket file left at 0600 cannot even be connected to.
            String guardedAnswer = answers.getOrDefault(guarded.address().path(), "");
            assertTrue(guardedAnswer.startsWith("FAILED") && guardedAnswer.contains("Permission denied"),
                    () -> "connecting to a 0600 socket file as another user fails: " + guardedAnswer);
        } finally {
            System.setErr(originalErr);
            if (client != null && client.isAlive()) {
                client.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            cases.forEach(c -> c.endpoint().close());
            opened.forEach(Transport::close);
            deleteRecursively(socketDirectory);
            deleteRecursively(clientDirectory);
        }
    }

    /**
     * Opens an endpoint in {@code directory} and loosens its socket file to 0666. File permissions
     * (0600, owner only) are the first guard and would keep the foreign peer from connecting at
     * all; the test opens them on purpose so that the peer reaches the second guard, the
     * {@link PeerPolicy}, which is what it exercises.
     */
    static Transport open(Stage stage, Path directory, IoMode mode, String name, PeerPolicy policy) throws IOException {
        TransportConfig config = stage.config(mode).toBuilder().socketDirectory(directory)
                .fileName(mode.name().toLowerCase() + "-" + name + ".sock").peerPolicy(policy).build();
        Transport endpoint = stage.openTransport(config);
        Files.setPosixFilePermissions(endpoint.address().toPath(), PosixFilePermissions.fromString("rw-rw-rw-"));
        return endpoint;
    }

    static void deleteRecursively(Path directory) throws IOException {
        try (var paths = Files.walk(directory)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Writes to two streams. */
    static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] bytes, int off, int len) throws IOException {
            a.write(bytes, off, len);
            b.write(bytes, off, len);
        }

        @Override
        public void flush() throws IOException {
            a.flush();
            b.flush();
        }
    }
}
