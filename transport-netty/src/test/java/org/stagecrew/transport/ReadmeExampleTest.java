package org.stagecrew.transport;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.transport.test.ReadmeSnippets;

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
        ReadmeSnippets.assertReadmeShows(README, SOURCE, "// README-BEGIN", "// README-END");
    }
}
