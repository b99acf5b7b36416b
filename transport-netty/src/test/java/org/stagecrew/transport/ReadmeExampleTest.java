package org.stagecrew.transport;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's quick start runs, and the README shows exactly the code that runs here. */
@Timeout(60)
class ReadmeExampleTest {

    private static final Path SOURCE = Path.of("src/test/java/org/stagecrew/transport/ReadmeExampleTest.java");
    private static final Path README = Path.of("../README.md");

    @Test
    void quickStartSendsHelloAndReceivesItWithTheSenderAddress() {
        // README-BEGIN
        try (Transport alice = Transport.open(); Transport bob = Transport.open()) {
            alice.send(bob.address(), Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8));
            try (Frame frame = bob.receive(Duration.ofSeconds(5))) {
                System.out.println(frame.sender() + " says " + frame.payload().toString(StandardCharsets.UTF_8));
            }
        }
        // README-END
    }

    @Test
    void readmeContainsTheQuickStartVerbatim() throws IOException {
        String snippet = String.join("\n", stripCommonIndentation(linesBetweenMarkers(Files.readAllLines(SOURCE))));

        assertTrue(Files.exists(README), () -> "README.md not found at " + README.toAbsolutePath().normalize());
        String readme = Files.readString(README).replace("\r\n", "\n");
        assertTrue(readme.contains(snippet),
                () -> "README.md must contain the quick start of " + SOURCE + " verbatim:\n" + snippet);
    }

    private static List<String> linesBetweenMarkers(List<String> lines) {
        int begin = indexOfMarker(lines, "// README-BEGIN");
        int end = indexOfMarker(lines, "// README-END");
        return lines.subList(begin + 1, end);
    }

    private static int indexOfMarker(List<String> lines, String marker) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).trim().equals(marker)) {
                return i;
            }
        }
        throw new AssertionError(marker + " not found in " + SOURCE);
    }

    private static List<String> stripCommonIndentation(List<String> lines) {
        int indent = lines.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        return lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).collect(Collectors.toList());
    }
}
