package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Daemons;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;

/**
 * A process unit starts a daemon and exits; the test JVM, which did not start the daemon and is
 * not its ancestor any more, reaches it by its address, exchanges checked frames with it, and stops
 * it over the transport with {@link Daemons#stop}; its socket file is gone afterwards.
 */
@StagecrewTest
class DaemonIT {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final int FRAMES = 2_000;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aDaemonOutlivesItsStarterAnswersByItsAddressAndStopsOverTheTransport(Stage stage) throws Exception {
        Transport me = stage.transport();
        Concurrency launcher = stage.process(DaemonTasks.Launcher.class).name("launcher")
                .arguments("daemon.sock", stage.logDirectory().toString()).start();
        Address daemon = Address.of(Reports.receive(me, WAIT, "the daemon's address").kind());
        stage.adopt(daemon); // whatever happens below, the stage stops it
        assertEquals(stage.address("daemon.sock"), daemon);
        assertTrue(launcher.join(WAIT), "the launcher's JVM exits once it started the daemon");
        assertEquals(OptionalInt.of(0), launcher.exitCode());

        Reports.send(me, daemon, DaemonTasks.PID_REQUEST);
        long pid = Long.parseLong(Reports.receive(me, WAIT, "the daemon's pid").kind());
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("the daemon died with its starter"));
        assertTrue(ProcessHandle.current().descendants().noneMatch(p -> p.pid() == pid),
                "the daemon is no descendant of the test JVM: it outlived its starter");

        CheckedFrames layout = new CheckedFrames(64, 256);
        CheckedFrames.Checker echoes = new CheckedFrames.Checker(layout, Map.of(daemon, 0), 1);
        long start = System.nanoTime();
        for (int seq = 0; seq < FRAMES; seq++) {
            me.send(daemon, layout.encode(0, seq), WAIT);
        }
        while (echoes.frames() < FRAMES) {
            try (Frame frame = me.receive(WAIT)) {
                assertNotNull(frame, () -> "echo " + echoes.frames() + " of " + FRAMES + " did not come back within " + WAIT);
                echoes.onFrame(frame);
            }
        }
        long exchangeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(0, echoes.errors(), echoes::summary);
        assertEquals(FRAMES, echoes.inOrder(0), echoes::summary);

        long stopStart = System.nanoTime();
        assertTrue(Daemons.stop(daemon, stage.config(), WAIT), "Daemons.stop stops the daemon within " + WAIT);
        long stopMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopStart);
        assertFalse(Files.exists(daemon.toPath(), LinkOption.NOFOLLOW_LINKS), "the daemon's socket file is gone");
        process.onExit().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        String log;
        try (java.util.stream.Stream<java.nio.file.Path> logs = Files.list(stage.logDirectory())) {
            // One log per start: daemon-<UTC start time>.log.
            log = Files.readString(logs.filter(p -> p.getFileName().toString().matches("daemon-\\d{8}T.*\\.log")).findFirst()
                    .orElseThrow(() -> new AssertionError("no log of the daemon in " + stage.logDirectory())));
        }
        assertTrue(log.contains("asked to stop by"), log);

        System.out.printf("[DaemonIT] daemon pid %d outlived its starter; %,d frames (%,d B) echoed intact and in order in %,d ms;"
                + " Daemons.stop took %,d ms; socket file gone%n", pid, echoes.frames(), echoes.bytes(), exchangeMillis, stopMillis);
    }
}
