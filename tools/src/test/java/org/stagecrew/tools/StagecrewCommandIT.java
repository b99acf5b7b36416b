package org.stagecrew.tools;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * The {@code stagecrew} jar, run as its own process, against endpoints owned by other processes:
 * one live, one killed with SIGKILL (its files left behind), one stopped with SIGSTOP.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StagecrewCommandIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Path JAR = Path.of("target", "stagecrew.jar");

    @TempDir
    Path dir;

    private final List<Endpoint> started = new ArrayList<>();

    /** A child JVM owning one address, and the lines it prints. */
    private static final class Endpoint {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        Endpoint(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process ended
                }
            }, "endpoint output");
            reader.setDaemon(true);
            reader.start();
        }

        void await(String line) throws InterruptedException {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                String next = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                assertTrue(next != null, "pid " + process.pid() + " never printed " + line + " within " + WAIT);
                if (next.equals(line)) {
                    return;
                }
            }
        }
    }

    private Endpoint start(String name) throws Exception {
        List<String> command = new ArrayList<>(List.of(java(), "-cp", System.getProperty("java.class.path")));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of(LiveEndpoint.class.getName(), dir.toString(), name));
        Endpoint endpoint = new Endpoint(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        started.add(endpoint);
        endpoint.await("READY");
        return endpoint;
    }

    /** An endpoint whose process was killed with SIGKILL: its files stay behind. */
    private Endpoint startAndKill(String name) throws Exception {
        Endpoint endpoint = start(name);
        endpoint.process.destroyForcibly();
        assertTrue(endpoint.process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "pid " + endpoint.process.pid() + " survived SIGKILL");
        return endpoint;
    }

    @AfterEach
    void stopEndpoints() throws Exception {
        for (Endpoint e : started) {
            signal("CONT", e.process.pid());
            e.process.getOutputStream().close();
            if (!e.process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                e.process.destroyForcibly().waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertTrue(kill.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "kill -" + name + " " + pid + " did not return");
    }

    /** Runs the jar with {@code args}; returns its exit status and output. */
    private static String[] stagecrew(String... args) throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is built by 'mvn package' before the integration tests");
        List<String> command = new ArrayList<>(List.of(java(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), UTF_8);
        assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "stagecrew " + String.join(" ", args) + " hung");
        System.out.println("$ stagecrew " + String.join(" ", args) + "\n" + output);
        return new String[] {Integer.toString(process.exitValue()), output};
    }

    private static String lineOf(String output, Path socket) {
        return output.lines().filter(l -> l.contains(socket.toString())).findFirst().orElse("(no line for " + socket + ")");
    }

    @Test
    void lsTellsALiveEndpointFromOneWhoseProcessWasKilled() throws Exception {
        Endpoint live = start("live.sock");
        Endpoint killed = startAndKill("killed.sock");
        assertTrue(Files.exists(dir.resolve("killed.sock")), "SIGKILL left the socket file behind");

        String[] ls = stagecrew("ls", dir.toString());
        assertEquals("0", ls[0], ls[1]);
        String liveLine = lineOf(ls[1], dir.resolve("live.sock"));
        assertTrue(liveLine.matches("live\\s+" + live.process.pid() + "\\s.*"), liveLine);
        String staleLine = lineOf(ls[1], dir.resolve("killed.sock"));
        assertTrue(staleLine.matches("stale\\s+" + killed.process.pid() + "\\s.*stagecrew clean.*"), staleLine);
    }

    @Test
    void aStoppedProcessStillShowsAsLive() throws Exception {
        Endpoint stopped = start("stopped.sock");
        signal("STOP", stopped.process.pid());
        String[] ls = stagecrew("ls", dir.toString());
        String line = lineOf(ls[1], dir.resolve("stopped.sock"));
        assertTrue(line.matches("live\\s+" + stopped.process.pid() + "\\s.*"), line);
    }

    @Test
    void cleanRemovesTheKilledEndpointsFilesAndLeavesTheLiveOneServing() throws Exception {
        Endpoint live = start("live.sock");
        Endpoint killed = startAndKill("killed.sock");

        String[] clean = stagecrew("clean", dir.toString());
        assertEquals("0", clean[0], clean[1]);
        assertTrue(clean[1].contains("1 removed, 1 kept"), clean[1]);
        assertFalse(Files.exists(dir.resolve("killed.sock")), "the stale socket file is gone");
        assertFalse(Files.exists(dir.resolve("killed.sock.lock")), "the stale lock file is gone");
        assertTrue(Files.exists(dir.resolve("live.sock")) && Files.exists(dir.resolve("live.sock.lock")),
                "the live endpoint's files are untouched");

        try (Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(42);
            sender.send(Address.of(dir.resolve("live.sock")), payload, WAIT);
            assertTrue(sender.flush(WAIT));
        }
        live.await("RECEIVED");
    }

    /** Sends {@code frames} frames of 100 bytes from {@code sender} to {@code endpoint} and waits until it printed each. */
    private static void load(Transport sender, Endpoint endpoint, Path socket, int frames) throws Exception {
        for (int i = 0; i < frames; i++) {
            sender.send(Address.of(socket), PooledByteBufAllocator.DEFAULT.directBuffer(100).writeZero(100), WAIT);
        }
        assertTrue(sender.flush(WAIT));
        for (int i = 0; i < frames; i++) {
            endpoint.await("RECEIVED");
        }
    }

    @Test
    void statShowsTheCountersOfAnEndpointUnderLoadInTotalAndPerPeer() throws Exception {
        Endpoint live = start("live.sock");
        Path socket = dir.resolve("live.sock");
        try (Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).fileName("sender.sock").build())) {
            load(sender, live, socket, 300);

            String[] stat = stagecrew("stat", socket.toString());
            assertEquals("0", stat[0], stat[1]);
            assertTrue(stat[1].contains("owner    live, pid " + live.process.pid()), stat[1]);
            assertTrue(stat[1].lines().anyMatch(l -> l.matches("framesReceived\\s+300\\s+frames")), stat[1]);
            assertTrue(stat[1].lines().anyMatch(l -> l.matches("bytesReceived\\s+31200\\s+bytes")), stat[1]);
            String peer = lineOf(stat[1], dir.resolve("sender.sock"));
            assertTrue(peer.matches("from\\s+300\\s+31\\.2k\\s+0\\s+0\\s+0\\s+0\\s+1\\s+0\\s+0\\s+0\\s+.*"), peer);

            String[] ls = stagecrew("ls", dir.toString());
            String liveLine = lineOf(ls[1], socket);
            assertTrue(liveLine.matches("live\\s+" + live.process.pid() + "\\s+\\S+\\s+\\S+\\s+1\\s+.*"),
                    "one connected peer: " + liveLine);
            String senderLine = lineOf(ls[1], dir.resolve("sender.sock"));
            assertTrue(senderLine.matches("live\\s+" + ProcessHandle.current().pid() + "\\s+\\S+\\s+\\S+\\s+1\\s+.*"), senderLine);

            String[] stats = stagecrew("stat", dir.resolve("sender.sock").toString());
            assertTrue(stats[1].lines().anyMatch(l -> l.matches("framesSent\\s+300\\s+frames")), stats[1]);

            String[] top = stagecrew("top", "-n", "2", "-d", "0.2", dir.toString());
            assertEquals("0", top[0], top[1]);
            assertEquals(2, top[1].lines().filter(l -> l.startsWith("stagecrew top")).count(), top[1]);
            assertTrue(lineOf(top[1], socket).startsWith("live"), top[1]);
        }
    }

    @Test
    void aStoppedProcessStillShowsItsLastCounters() throws Exception {
        Endpoint stopped = start("stopped.sock");
        Path socket = dir.resolve("stopped.sock");
        try (Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            load(sender, stopped, socket, 50);
            signal("STOP", stopped.process.pid());
            String[] stat = stagecrew("stat", socket.toString());
            assertEquals("0", stat[0], stat[1]);
            assertTrue(stat[1].lines().anyMatch(l -> l.matches("framesReceived\\s+50\\s+frames")), stat[1]);
            assertTrue(stat[1].contains("owner    live, pid " + stopped.process.pid()), stat[1]);
        }
    }

    @Test
    void aKilledProcessShowsItsLastCountersAsStaleAndCleanRemovesTheFile() throws Exception {
        Endpoint killed = start("killed.sock");
        Path socket = dir.resolve("killed.sock");
        try (Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            load(sender, killed, socket, 20);
        }
        killed.process.destroyForcibly();
        assertTrue(killed.process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
        String[] stat = stagecrew("stat", socket.toString());
        assertTrue(stat[1].contains("owner    stale, pid " + killed.process.pid() + " (the counters are its last ones)"), stat[1]);
        assertTrue(stat[1].lines().anyMatch(l -> l.matches("framesReceived\\s+20\\s+frames")), stat[1]);
        assertEquals("0", stagecrew("clean", dir.toString())[0]);
        assertFalse(Files.exists(dir.resolve("killed.sock.counters")), "clean removed the stale counters file");
        String[] gone = stagecrew("stat", socket.toString());
        assertEquals("2", gone[0], gone[1]);
        assertTrue(gone[1].contains("no counters file " + socket + ".counters"), gone[1]);
    }

    @Test
    void aMissingDirectoryIsNamedWithExitStatus2() throws Exception {
        Path missing = dir.resolve("nowhere");
        String[] ls = stagecrew("ls", missing.toString());
        assertEquals("2", ls[0], ls[1]);
        assertTrue(ls[1].contains("no such directory: " + missing), ls[1]);
    }

    @Test
    void pingGetsRepliesFromALiveProcessEndpointsTransport() throws Exception {
        Endpoint live = start("live.sock");
        Path socket = dir.resolve("live.sock");
        String[] ping = stagecrew("ping", "-c", "3", "-i", "0.05", socket.toString());
        assertEquals("0", ping[0], ping[1]);
        assertTrue(ping[1].contains("PING " + socket + " (pid " + live.process.pid() + ")"), ping[1]);
        for (int seq = 1; seq <= 3; seq++) {
            assertTrue(ping[1].matches("(?s).*reply from " + java.util.regex.Pattern.quote(socket.toString()) + ": seq=" + seq
                    + " time=\\d+\\.\\d{3} ms.*"), ping[1]);
        }
        assertTrue(ping[1].contains("3 sent, 3 received, 0 lost"), ping[1]);
        assertTrue(ping[1].matches("(?s).*rtt min/avg/max = \\d+\\.\\d{3}/\\d+\\.\\d{3}/\\d+\\.\\d{3} ms.*"), ping[1]);
    }

    @Test
    void pingOfAVersion1OnlyListenerPrintsItsRefusalAndExitsWith2() throws Exception {
        Path socket = dir.resolve("v1.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread listener = new Thread(() -> answerAsVersion1(server), "version 1 listener");
            listener.setDaemon(true);
            listener.start();
            String[] ping = stagecrew("ping", "-c", "1", socket.toString());
            assertEquals("2", ping[0], ping[1]);
            assertTrue(ping[1].contains("stagecrew: ping " + socket + " refused: the endpoint speaks protocol version 1 only"), ping[1]);
            assertTrue(ping[1].contains("protocol version 2 is not supported; this endpoint speaks 1"), ping[1]);
        }
    }

    @Test
    void pingNamesAMissingSocketAndAStaleOneWithWhatToDo() throws Exception {
        Path missing = dir.resolve("nobody.sock");
        String[] ping = stagecrew("ping", "-c", "1", missing.toString());
        assertEquals("2", ping[0], ping[1]);
        assertTrue(ping[1].contains("stagecrew: control connection to " + missing + " failed: no socket file exists at that path"), ping[1]);

        startAndKill("killed.sock");
        Path stale = dir.resolve("killed.sock");
        ping = stagecrew("ping", "-c", "1", stale.toString());
        assertEquals("2", ping[0], ping[1]);
        assertTrue(ping[1].contains(stale + " failed: connection refused") && ping[1].contains("stagecrew clean"), ping[1]);
    }

    /**
     * A listener of protocol version 1 only, written from PROTOCOL.md's version 1: reads the header and
     * address of each hello and answers UNSUPPORTED_VERSION in version 1, until the server is closed.
     */
    private static void answerAsVersion1(ServerSocketChannel server) {
        while (server.isOpen()) {
            try (SocketChannel peer = server.accept()) {
                ByteBuffer header = ByteBuffer.allocate(7);
                while (header.hasRemaining() && peer.read(header) >= 0) {
                    // the hello's fixed part
                }
                int version = header.get(4);
                byte[] reason = ("protocol version " + version + " is not supported; this endpoint speaks 1").getBytes(UTF_8);
                ByteBuffer notice = ByteBuffer.allocate(8 + reason.length).putInt(0x53435257).put((byte) 1).put((byte) 1)
                        .putShort((short) reason.length).put(reason).flip();
                while (notice.hasRemaining()) {
                    peer.write(notice);
                }
            } catch (IOException e) {
                return; // closed by the test
            }
        }
    }
}
