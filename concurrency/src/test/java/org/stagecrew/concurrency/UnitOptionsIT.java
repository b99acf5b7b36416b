package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/** Options of process units: inherited JVM options, one log file per start, awaitStop in a child. */
@Timeout(value = 90, unit = SECONDS)
class UnitOptionsIT {
    static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    Transport me;

    @BeforeEach
    void open() {
        me = Transport.open(config());
    }

    @AfterEach
    void close() {
        me.close();
    }

    TransportConfig config() {
        return TransportConfig.builder().ioMode(ProcessUnitIT.MODE).socketDirectory(dir).build();
    }

    UnitBuilder process(Class<? extends Task> task) {
        return Concurrency.process(task).transportConfig(config()).parent(me.address());
    }

    List<String> childArguments(UnitBuilder builder) throws Exception {
        try (Concurrency unit = builder.start()) {
            try (Frame frame = me.receive(WAIT)) {
                assertNotNull(frame, "the child reported its arguments");
                return List.of(frame.payload().toString(StandardCharsets.UTF_8).split("\n"));
            }
        }
    }

    @Test
    void aChildGetsTheParentsJvmOptionsOnlyWhenAsked() throws Exception {
        List<String> mine = ManagementFactory.getRuntimeMXBean().getInputArguments();
        Assumptions.assumeTrue(mine.contains("-Xmx1g"), "the test JVM runs with the build's -Xmx1g: " + mine);

        List<String> inherited = childArguments(process(OptionTasks.JvmArgumentsTask.class).inheritJvmOptions(true));
        List<String> plain = childArguments(process(OptionTasks.JvmArgumentsTask.class));

        assertTrue(inherited.containsAll(InheritedJvmOptions.ofThisJvm()), () -> "child: " + inherited + ", parent: " + mine);
        assertTrue(inherited.contains("-Xmx1g"), () -> "child: " + inherited);
        assertFalse(plain.contains("-Xmx1g"), () -> "without the option the child does not get it: " + plain);
    }

    @Test
    void eachStartHasItsOwnLogFileAndOnlyTheNewestAreKept() throws Exception {
        Path logs = dir.resolve("logs");
        List<Path> files = new ArrayList<>();
        List<Long> pids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Concurrency unit = process(OptionTasks.AwaitStopTask.class).name("again").logsKept(2).start();
            files.add(unit.logFile().orElseThrow());
            pids.add(unit.pid().orElseThrow());
            assertTrue(unit.stop(WAIT), "the task ends on its stop request");
            assertEquals(0, unit.onExit().get(WAIT.toSeconds(), SECONDS).exitCode(), "it stopped cleanly");
        }
        assertEquals(3, files.stream().distinct().count(), () -> "one file per start: " + files);
        assertEquals(files.subList(1, 3), UnitLogFiles.of(logs, "again"), "the oldest was deleted, the newest two kept");
        for (int i = 1; i < 3; i++) {
            String log = Files.readString(files.get(i));
            assertTrue(log.contains("running in pid " + pids.get(i)), log);
            assertFalse(log.contains("running in pid " + pids.get(3 - i)), () -> "another run's lines: " + log);
            assertTrue(log.contains(OptionTasks.AwaitStopTask.STOPPED), () -> "awaitStop returned on the stop: " + log);
        }
        assertNotEquals(files.get(1).getFileName(), files.get(2).getFileName());
    }

    @Test
    void classDataSharingWithClassDirectoriesOnTheClassPathStartsAndEndsCleanlyWithoutAnArchive() throws Exception {
        Assumptions.assumeTrue(ClassDataSharing.directoryIn(System.getProperty("java.class.path")) != null,
                "the test class path holds target/classes directories");
        Path archives = dir.resolve("cds");
        System.setProperty(ClassDataSharing.DIRECTORY_PROPERTY, archives.toString());
        try {
            Concurrency unit = process(OptionTasks.JvmArgumentsTask.class).classDataSharing(true).start();
            List<String> arguments;
            try (Frame frame = me.receive(WAIT)) {
                assertNotNull(frame, "the child reported its arguments");
                arguments = List.of(frame.payload().toString(StandardCharsets.UTF_8).split("\n"));
            }
            // Before: -XX:ArchiveClassesAtExit made the child's JVM fail at exit ("Cannot have non-empty directory in paths").
            assertEquals(0, unit.onExit().get(WAIT.toSeconds(), SECONDS).exitCode(), () -> "clean exit; args " + arguments);
            assertTrue(arguments.stream().noneMatch(o -> o.contains("Archive")), () -> "no archive options: " + arguments);
            assertFalse(Files.exists(archives), "no archive directory made");
        } finally {
            System.clearProperty(ClassDataSharing.DIRECTORY_PROPERTY);
        }
    }

    @Test
    void aClassPathOfJarsGetsAnArchiveMadeOnceThenMapped() throws Exception {
        Path jar = Files.createFile(dir.resolve("app.jar"));
        Path archives = dir.resolve("cds");
        ClassDataSharing.Plan first = ClassDataSharing.plan(archives, jar.toString(), List.of("-Xmx64m"));
        if (Runtime.version().feature() >= 19) {
            assertTrue(first.options().contains("-XX:+AutoCreateSharedArchive"), first.options()::toString);
            return;
        }
        assertEquals(1, first.options().size());
        assertTrue(first.options().get(0).startsWith("-XX:ArchiveClassesAtExit=" + archives), first.options()::toString);
        assertEquals(List.of(), ClassDataSharing.plan(archives, jar.toString(), List.of("-Xmx64m")).options(),
                "while one start makes the archive, others go without");
        // The first child wrote its archive as it exited:
        Files.write(Path.of(first.options().get(0).substring("-XX:ArchiveClassesAtExit=".length())), new byte[] {1});
        first.onExit().run();
        List<String> later = ClassDataSharing.plan(archives, jar.toString(), List.of("-Xmx64m", "-Dx=1", "-Xlog:gc")).options();
        assertEquals(1, later.size());
        assertTrue(later.get(0).startsWith("-XX:SharedArchiveFile=" + archives) && later.get(0).endsWith(".jsa"), later::toString);
        assertTrue(Files.exists(Path.of(later.get(0).substring("-XX:SharedArchiveFile=".length()))));
        assertTrue(ClassDataSharing.plan(archives, jar.toString(), List.of("-Xmx128m")).options().get(0).startsWith("-XX:ArchiveClassesAtExit"),
                "other JVM options, another archive");
    }
}
