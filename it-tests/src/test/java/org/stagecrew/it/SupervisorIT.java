package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Supervisor;
import org.stagecrew.concurrency.SupervisorListener;
import org.stagecrew.concurrency.UnitExit;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.Address;

/**
 * A supervised process unit that crashes each time it starts is restarted at its address three
 * times, each in a new JVM, and then the supervisor gives up as configured (3 restarts in a minute)
 * and says why; a healthy sibling is stopped with it.
 */
@StagecrewTest
class SupervisorIT {
    static final Duration WAIT = Duration.ofSeconds(120);

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aCrashingUnitIsRestartedAtItsAddressThreeTimesThenTheSupervisorGivesUp(Stage stage) throws Exception {
        List<UnitExit> exits = new CopyOnWriteArrayList<>();
        List<Address> restartedAt = new CopyOnWriteArrayList<>();
        Set<Long> pids = java.util.Collections.synchronizedSet(new HashSet<>());
        SupervisorListener hook = new SupervisorListener() {
            @Override
            public void unitExited(String child, UnitExit exit) {
                exits.add(exit);
            }

            @Override
            public void unitRestarted(String child, Concurrency unit, int restart) {
                restartedAt.add(unit.address());
                pids.add(unit.pid().orElse(-1));
            }
        };
        String[] jvm = {"-Xmx48m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"};
        Supervisor supervisor = Supervisor.builder("it")
                .child(Concurrency.process(DeathTasks.Crasher.class).name("crasher").jvmOptions(jvm)
                        .transportConfig(stage.config().toBuilder().fileName("crasher.sock").build()).parent(stage.transport().address()))
                .child(Concurrency.process(DeathTasks.Echo.class).name("healthy").jvmOptions(jvm)
                        .transportConfig(stage.config().toBuilder().fileName("healthy.sock").build()).parent(stage.transport().address()))
                .intensity(3, Duration.ofMinutes(1)).backoff(Duration.ofMillis(50), Duration.ofMillis(400)).listener(hook).start();
        try {
            Address crasher = supervisor.address("crasher");
            Concurrency healthy = supervisor.unit("healthy");
            pids.add(supervisor.unit("crasher").pid().orElseThrow());

            Supervisor.GiveUp giveUp = supervisor.onGiveUp().get(WAIT.toSeconds(), TimeUnit.SECONDS);

            assertEquals("crasher", giveUp.child());
            assertEquals(3, giveUp.restarts());
            assertTrue(giveUp.reason().contains("after 3 restarts"), giveUp.reason());
            assertEquals(List.of(crasher, crasher, crasher), restartedAt, "every restart binds the same address");
            assertEquals(4, exits.size(), () -> "four ends: " + exits);
            for (UnitExit exit : exits) {
                assertEquals(1, exit.exitCode(), exit::toString);
                assertTrue(exit.failure().orElseThrow().getMessage().contains(DeathTasks.Crasher.CRASH), () -> "its log tail: " + exit);
            }
            assertEquals(4, pids.size(), () -> "each run in a JVM of its own: " + pids);
            assertTrue(healthy.join(WAIT), "giving up stops the healthy sibling too");
            System.out.printf("[SupervisorIT] %s; exits: %s%n", giveUp.reason(), exits);
        } finally {
            supervisor.close();
        }
    }
}
