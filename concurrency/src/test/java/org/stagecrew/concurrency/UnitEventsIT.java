package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/** The JFR events {@code stagecrew.UnitStarted} and {@code stagecrew.UnitExited}, recorded for a thread unit and a process unit. */
@Timeout(value = 120, unit = SECONDS)
class UnitEventsIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private final LinkedBlockingQueue<RecordedEvent> events = new LinkedBlockingQueue<>();
    private final List<RecordedEvent> seen = new ArrayList<>();

    private RecordedEvent await(String name, String unit) throws InterruptedException {
        Predicate<RecordedEvent> wanted = e -> e.getEventType().getName().equals(name) && e.getString("unit").equals(unit);
        for (RecordedEvent e : seen) {
            if (wanted.test(e)) {
                return e;
            }
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            RecordedEvent e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertTrue(e != null, () -> "no " + name + " of unit " + unit + " within " + WAIT + "; seen: " + seen);
            seen.add(e);
            if (wanted.test(e)) {
                return e;
            }
        }
    }

    @Test
    void aThreadUnitAndAProcessUnitAreRecordedAsTheyStartAndExit() throws Exception {
        try (RecordingStream recording = new RecordingStream();
                Transport me = Transport.open(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).build())) {
            recording.enable("stagecrew.UnitStarted");
            recording.enable("stagecrew.UnitExited");
            recording.onEvent(events::add);
            recording.startAsync();

            Concurrency thread = Concurrency.thread(new UnitTasks.FailingTask()).name("failing-thread").parent(me.address())
                    .transportConfig(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).build()).start();
            assertTrue(thread.join(WAIT));
            Concurrency process = Concurrency.process(UnitTasks.FailingTask.class).name("failing-process").parent(me.address())
                    .transportConfig(TransportConfig.builder().socketDirectory(dir).build()).start();
            long pid = process.pid().orElseThrow();
            String processAddress = process.address().toString();
            assertTrue(process.join(WAIT));

            RecordedEvent started = await("stagecrew.UnitStarted", "failing-thread");
            assertEquals("thread", started.getString("kind"));
            assertEquals(ProcessHandle.current().pid(), started.getLong("pid"));
            assertEquals(me.address().toString(), started.getString("parentAddress"));
            assertTrue(started.getString("unitAddress").startsWith(dir.toString()), started::toString);
            RecordedEvent exited = await("stagecrew.UnitExited", "failing-thread");
            assertEquals(1, exited.getInt("exitCode"));
            assertTrue(exited.getString("failure").contains(UnitTasks.FailingTask.MESSAGE), exited::toString);
            assertEquals(started.getString("unitAddress"), exited.getString("unitAddress"));

            RecordedEvent processStarted = await("stagecrew.UnitStarted", "failing-process");
            assertEquals("process", processStarted.getString("kind"));
            assertEquals(pid, processStarted.getLong("pid"));
            assertEquals(processAddress, processStarted.getString("unitAddress"));
            RecordedEvent processExited = await("stagecrew.UnitExited", "failing-process");
            assertEquals(pid, processExited.getLong("pid"));
            assertTrue(processExited.getInt("exitCode") != 0, processExited::toString);
            assertTrue(processExited.getLong("uptime") > 0, processExited::toString);
        }
    }
}
