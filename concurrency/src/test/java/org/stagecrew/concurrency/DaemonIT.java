package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * A daemon unit outlives the JVM that started it: a process unit ({@link
 * UnitTasks.DaemonLauncherTask}) starts a daemon at a fixed file name, reports its address and exits;
 * the test JVM then talks to the daemon and stops it over the transport. Whatever happens, the
 * daemon is killed by process id at the end.
 */
@Timeout(value = 60, unit = SECONDS)
class DaemonIT {

    static final Duration WAIT = Duration.ofSeconds(15);
    static final IoMode MODE = IoMode.EPOLL.isAvailable() ? IoMode.EPOLL : IoMode.NIO;

    @TempDir
    Path dir;

    @Test
    void aDaemonOutlivesTheJvmThatStartedItAnswersByItsAddressAndStopsOverTheTransport() throws Exception {
        TransportConfig config = TransportConfig.builder().ioMode(MODE).socketDirectory(dir).build();
        Address expected = Address.of(dir.resolve("daemon.sock"));
        long daemonPid = -1;
        Address daemonAddress = null;
        try (Transport me = Transport.open(config)) {
            try {
                try (Concurrency launcher = Concurrency.process(UnitTasks.DaemonLauncherTask.class).name("launcher")
                        .transportConfig(config).parent(me.address()).arguments("daemon.sock").start()) {
                    daemonAddress = UnitSpec.decodeAddress(receive(me, launcher.address()));
                    assertEquals(expected, daemonAddress, "the daemon binds the file name it was given");
                    daemonPid = Long.parseLong(ask(me, expected, UnitTasks.PID_REQUEST));

                    assertTrue(launcher.join(WAIT), "the launcher's JVM should exit once its task returns");
                    assertEquals(OptionalInt.of(0), launcher.exitCode(), () -> "launcher failed: " + launcher.failure());
                }
                ProcessHandle daemon = ProcessHandle.of(daemonPid).orElseThrow(() -> new AssertionError("daemon died with its launcher"));
                assertTrue(daemon.isAlive(), "the daemon must outlive the JVM that started it");
                assertNotEquals(ProcessHandle.current().pid(), daemon.parent().map(ProcessHandle::pid).orElse(-1L),
                        "the daemon is not a child of the test JVM");

                assertEquals("still there?", ask(me, expected, "still there?"));
                if (Files.isReadable(Path.of("/proc/self/stat"))) {
                    assertNotEquals(session(ProcessHandle.current().pid()), session(daemonPid), "the daemon runs in its own session");
                    assertEquals(daemonPid, session(daemonPid), "the daemon leads its session (setsid)");
                }

                assertTrue(Daemons.stop(expected, config, WAIT), "Daemons.stop should stop the daemon within " + WAIT);

                assertFalse(Files.exists(expected.toPath(), LinkOption.NOFOLLOW_LINKS), "the daemon's socket file is gone");
                assertFalse(Files.exists(Path.of(expected.path() + ".ctl"), LinkOption.NOFOLLOW_LINKS),
                        "the daemon's control socket is gone");
                daemon.onExit().get(WAIT.toSeconds(), SECONDS);
                String log = Files.readString(UnitLogFiles.of(dir.resolve("logs"), "daemon-daemon.sock").get(0), StandardCharsets.UTF_8);
                assertTrue(log.contains("asked to stop by"), log);
            } finally {
                if (daemonPid > 0) {
                    ProcessHandle.of(daemonPid).ifPresent(ProcessHandle::destroyForcibly);
                } else if (daemonAddress != null) {
                    Daemons.stop(daemonAddress, config, Duration.ofSeconds(5)); // its pid is unknown: ask it to go
                }
            }
        }
    }

    /** Issue 18 item 3: Daemons.stop returned true once the socket file was gone, while the JVM still ran. */
    @Test
    void daemonsStopReturnsTrueOnlyOnceTheDaemonsJvmHasExited() throws Exception {
        TransportConfig config = TransportConfig.builder().ioMode(MODE).socketDirectory(dir).build();
        long daemonPid = -1;
        try (Transport me = Transport.open(config);
                Concurrency daemon = Concurrency.daemon(UnitTasks.EchoTask.class).name("waited-for").transportConfig(config).start()) {
            try {
                daemonPid = Long.parseLong(ask(me, daemon.address(), UnitTasks.PID_REQUEST));

                assertTrue(Daemons.stop(daemon.address(), config, WAIT));

                assertFalse(ProcessHandle.of(daemonPid).map(ProcessHandle::isAlive).orElse(false),
                        "Daemons.stop returned true while the daemon's JVM (pid " + daemonPid + ") still ran");
            } finally {
                if (daemonPid > 0) {
                    ProcessHandle.of(daemonPid).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
    }

    @Test
    void stoppingAnAddressWhereNoUnitListensReturnsFalse() {
        TransportConfig config = TransportConfig.builder().ioMode(MODE).socketDirectory(dir).build();

        assertFalse(Daemons.stop(Address.of(dir.resolve("nobody.sock")), config, Duration.ofSeconds(2)));
    }

    /** The session id of a Linux process: the sixth field of /proc/<pid>/stat, counted after the command name. */
    static long session(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[3]); // state, ppid, pgrp, session
    }

    static String receive(Transport me, Address from) {
        try (Frame frame = me.receive(WAIT)) {
            assertNotNull(frame, () -> "nothing arrived from " + from + " within " + WAIT);
            assertEquals(from, frame.sender());
            return frame.payload().toString(StandardCharsets.UTF_8);
        }
    }

    static String ask(Transport me, Address unit, String request) throws Exception {
        me.send(unit, ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, request)).get(WAIT.toSeconds(), SECONDS);
        return receive(me, unit);
    }
}
