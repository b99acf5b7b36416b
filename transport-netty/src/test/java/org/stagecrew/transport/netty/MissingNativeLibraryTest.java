package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * The io_uring and kqueue native libraries are optional dependencies: an application that lacks
 * the one a forced mode needs is told which artifact to add, and AUTO still runs.
 */
@EnabledOnOs(OS.LINUX)
class MissingNativeLibraryTest {

    @TempDir
    Path dir;

    @Test
    void forcedIoUringWithoutItsNativeJarNamesTheArtifactToAddAndAutoStillRuns() throws Exception {
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.contains("netty-transport-native-io_uring"))
                .collect(Collectors.joining(File.pathSeparator));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of("-cp", classPath, Probe.class.getName(), dir.toString()));
        Path output = dir.resolve("output.txt");
        Process probe = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        boolean ended = probe.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            probe.destroyForcibly();
        }
        String text = Files.readString(output);
        assertTrue(ended, () -> "the probe JVM ended within 60 s; output:\n" + text);
        assertEquals(0, probe.exitValue(), () -> "probe exit code; output:\n" + text);
        assertTrue(text.contains("IO_URING refused: IoMode.IO_URING is not available")
                && text.contains("add io.netty:netty-transport-native-io_uring with classifier linux-"), text);
        assertTrue(text.contains("AUTO opened"), text);
    }

    /** Runs in the JVM without the io_uring native jar: tries IO_URING, then AUTO, and prints what happened. */
    static final class Probe {
        public static void main(String[] args) {
            Path dir = Path.of(args[0]);
            try (Transport transport = Transport.open(TransportConfig.builder().socketDirectory(dir).ioMode(IoMode.IO_URING).build())) {
                System.out.println("IO_URING opened, unexpectedly");
            } catch (TransportException expected) {
                System.out.println("IO_URING refused: " + expected.getMessage());
            }
            try (Transport transport = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
                System.out.println("AUTO opened " + transport.address());
            }
        }
    }
}
