package org.stagecrew.transport.test;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Keeps code shown in the README identical to code that runs in a test: the lines of a test source
 * between two marker comments, without their common indentation, must appear in the README verbatim.
 */
public final class ReadmeSnippets {
    private ReadmeSnippets() {
    }

    /** The lines of {@code source} between the lines {@code begin} and {@code end} (trimmed), dedented, joined by "\n". */
    public static String snippet(Path source, String begin, String end) throws IOException {
        List<String> lines = Files.readAllLines(source);
        List<String> between = lines.subList(indexOf(lines, begin, source) + 1, indexOf(lines, end, source));
        int indent = between.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return between.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).collect(Collectors.joining("\n"));
    }

    /** Fails unless {@code readme} contains the snippet of {@code source} between the markers, verbatim. */
    public static void assertReadmeShows(Path readme, Path source, String begin, String end) throws IOException {
        String snippet = snippet(source, begin, end);
        assertTrue(Files.exists(readme), () -> "README.md not found at " + readme.toAbsolutePath().normalize());
        String text = Files.readString(readme).replace("\r\n", "\n");
        assertTrue(text.contains(snippet), () -> readme + " must show the code of " + source + " between " + begin
                + " and " + end + " verbatim:\n" + snippet);
    }

    private static int indexOf(List<String> lines, String marker, Path source) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).trim().equals(marker)) {
                return i;
            }
        }
        throw new AssertionError(marker + " not found in " + source);
    }
}
