package org.stagecrew.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: no class in any module's {@code src/main} is over {@value #MAX_LINES} lines, so that each
 * stays one job that a reader can hold in mind. Runs from this module's directory over its siblings.
 */
class SourceSizeTest {
    static final int MAX_LINES = 400;

    @Test
    void noMainClassOfAnyModuleIsOver400Lines() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        assertTrue(Files.isRegularFile(root.resolve("pom.xml")), "the reactor root is the parent of " + Path.of("").toAbsolutePath());
        List<String> tooLong;
        try (Stream<Path> files = Files.walk(root)) {
            tooLong = files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/"))
                    .filter(p -> lines(p) > MAX_LINES)
                    .map(p -> root.relativize(p) + " has " + lines(p) + " lines")
                    .sorted()
                    .collect(Collectors.toList());
        }
        assertEquals(List.of(), tooLong, "classes over " + MAX_LINES + " lines: extract a coherent part");
    }

    private static long lines(Path file) {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
