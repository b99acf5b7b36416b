package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.DeathWatch;
import org.stagecrew.concurrency.PeerDeath;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.UnknownAddressException;
import org.stagecrew.transport.netty.NettyTransports;

/**
 * {@link DeathWatch#watch} on a daemon that another JVM started (and that JVM has exited): the
 * watch fires when the daemon is killed with SIGKILL, naming its pid.
 */
@StagecrewTest
class WatchIT {
    static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aWatchOnADaemonStartedByAnotherJvmFiresWhenItIsKilled(Stage stage) throws Exception {
        Transport me = stage.transport();
        Concurrency launcher = stage.process(DaemonTasks.Launcher.class).name("launcher")
                .arguments("watched.sock", stage.logDirectory().toString()).start();
        Address daemon = Address.of(Reports.receive(me, WAIT, "the daemon's address").kind());
        stage.adopt(daemon); // if the test fails before the kill, the stage stops it
        assertTrue(launcher.join(WAIT), "the launcher's JVM exits once it started the daemon");
        Reports.send(me, daemon, DaemonTasks.PID_REQUEST);
        long pid = Long.parseLong(Reports.receive(me, WAIT, "the daemon's pid").kind());
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow();

        CompletableFuture<PeerDeath> watch = DeathWatch.watch(daemon);
        assertFalse(watch.isDone(), "the daemon is alive");

        long killedAt = System.nanoTime();
        assertTrue(process.destroyForcibly());
        PeerDeath death = watch.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);

        assertEquals(daemon, death.address());
        assertEquals(pid, death.pid());
        assertFalse(death.closedItsTransport(), () -> "killed: " + death);
        assertTrue(death.reason().contains("killed or crashed"), death::reason);
        // A killed daemon cannot unlink its files and its starter is gone: whoever killed it cleans up, once it has exited.
        // The watch fires when the connection drops, which can be before the dying process's lock is released (CI saw the
        // lock still held right after the watch fired).
        process.onExit().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(NettyTransports.unlinkIfUnowned(daemon.toPath()));
        assertTrue(NettyTransports.unlinkIfUnowned(java.nio.file.Path.of(daemon.path() + ".ctl")));
        assertTrue(millis < 1000, () -> "the watch fired " + millis + " ms after SIGKILL, expected within a second: " + death);
        System.out.printf("[WatchIT] watch fired %d ms after SIGKILL of daemon pid %d: %s%n", millis, pid, death.reason());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aWatchLearnsOfAnOrderlyCloseThroughItsControlConnectionWhileTheProcessLivesOn(Stage stage) throws Exception {
        Transport me = stage.transport();
        Concurrency unit = stage.process(WatchTasks.ClosesItsTransport.class).name("closer").start();
        CompletableFuture<PeerDeath> watch = DeathWatch.watch(unit.address());
        assertFalse(watch.isDone(), "the unit is alive");

        Reports.send(me, unit.address(), "close");
        PeerDeath death = watch.get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertTrue(unit.isAlive(), "the unit's process lives on: only the control connection could tell");
        assertEquals(unit.address(), death.address());
        assertTrue(death.closedItsTransport(), death::reason);
        assertTrue(death.reason().contains("graceful close: it sent SHUTTING_DOWN"), death::reason);
    }

    @Test
    void aWatchOnAnAddressNobodyBoundSaysSo(Stage stage) {
        UnknownAddressException e = assertThrows(UnknownAddressException.class, () -> DeathWatch.watch(stage.address("nobody.sock")));
        assertTrue(e.getMessage().contains("nobody.sock.lock"), e.getMessage());
    }
}
