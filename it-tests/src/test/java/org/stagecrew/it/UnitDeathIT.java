package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.UnitExit;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.BackPressureException;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.Transport;

/**
 * A process unit is killed with SIGKILL while the test JVM has a full queue of frames for it:
 * {@link Concurrency#onExit()} completes with status 137 and SIGKILL, and every send still queued
 * fails with {@link PeerDiedException} naming the destination and its pid, within a second of the
 * kill. Every frame is accounted for: sent = written + failed.
 */
@StagecrewTest
class UnitDeathIT {
    static final Duration WAIT = Duration.ofSeconds(30);
    static final Duration DEATH_BOUND = Duration.ofSeconds(1);
    static final int PAYLOAD = 1024;
    static final int MAX_FRAMES = 1_000_000;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aUnitKilledUnderLoadReportsItsSignalAndFailsEveryQueuedSendWithPeerDied(Stage stage) throws Exception {
        Transport me = stage.transport();
        Concurrency unit = stage.process(DeathTasks.Deaf.class).name("deaf").fileName("deaf.sock")
                .jvmOptions("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1").start();
        Address address = unit.address();
        long pid = unit.pid().orElseThrow(() -> new AssertionError("a process unit has a pid once started"));
        assertTrue(ProcessHandle.of(pid).isPresent(), "pid() names a live process");
        CompletableFuture<UnitExit> exit = unit.onExit();

        // Fill every buffer on the way (its inbox and socket, then our queue) until our send is back-pressured.
        List<CompletableFuture<Void>> sends = new ArrayList<>();
        while (sends.size() < MAX_FRAMES) {
            ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(PAYLOAD).writeZero(PAYLOAD);
            CompletableFuture<Void> sent = me.send(address, payload);
            if (sent.isCompletedExceptionally()) {
                Throwable why = sent.handle((ok, e) -> e).join();
                assertInstanceOf(BackPressureException.class, why instanceof CompletionException ? why.getCause() : why);
                break;
            }
            sends.add(sent);
        }
        long queued = sends.stream().filter(f -> !f.isDone()).count();
        assertTrue(queued > 0, "some sends are still queued when the unit is killed");

        long killedAt = System.nanoTime();
        unit.kill();
        CompletableFuture.allOf(sends.stream().map(f -> f.handle((ok, e) -> null)).toArray(CompletableFuture[]::new))
                .get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        long settledMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        UnitExit ended = exit.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

        assertEquals(137, ended.exitCode(), () -> "exit: " + ended);
        assertEquals(OptionalInt.of(9), ended.signal(), () -> "exit: " + ended);
        assertEquals("SIGKILL", ended.signalName().orElseThrow());
        assertEquals("deaf", ended.unit());
        assertTrue(ended.failure().isPresent(), "a killed unit has a failure");
        assertTrue(ended.uptime().compareTo(Duration.ZERO) > 0, () -> "uptime " + ended.uptime());
        assertEquals(OptionalInt.of(137), unit.exitCode());

        long written = 0;
        long died = 0;
        for (CompletableFuture<Void> sent : sends) {
            Throwable failure = sent.handle((ok, e) -> e).join();
            if (failure == null) {
                written++;
                continue;
            }
            PeerDiedException peerDied = assertInstanceOf(PeerDiedException.class, failure, "a queued send fails typed");
            assertEquals(address, peerDied.peer());
            assertTrue(peerDied.getMessage().contains(address.toString()), peerDied::getMessage);
            died++;
        }
        assertEquals(sends.size(), written + died, "every send is accounted for");
        assertTrue(died > 0, "queued sends failed");
        long bound = DEATH_BOUND.toMillis();
        assertTrue(settledMillis <= bound, () -> "queued sends settled " + settledMillis + " ms after the kill, bound " + bound);
        System.out.printf("[UnitDeathIT] %d sends: %d written before the kill, %d failed with PeerDiedException; all settled %d ms"
                + " after kill(); onExit: %s%n", sends.size(), written, died, settledMillis, ended);
    }
}
