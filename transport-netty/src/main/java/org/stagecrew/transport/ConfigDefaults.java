package org.stagecrew.transport;

import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The defaults of {@link TransportConfig} that are computed or act, rather than constants. */
final class ConfigDefaults {
    private static final Logger UNDELIVERABLE_LOG = LoggerFactory.getLogger("org.stagecrew.transport.Undeliverable");

    private ConfigDefaults() {
    }

    /** {@link TransportConfig#DEFAULT_UNDELIVERABLE_HANDLER}: a warning with the destination, count and cause. */
    static void logUndeliverable(Address destination, int frames, TransportException cause) {
        UNDELIVERABLE_LOG.warn("{} frame(s) to {} were not delivered: {}", frames, destination, cause.getMessage());
    }

    /** {@link TransportConfig#defaultSocketDirectory()}, from the environment of this JVM. */
    static Path socketDirectory() {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isEmpty() && Files.isDirectory(Path.of(runtime))) {
            return Path.of(runtime, "stagecrew");
        }
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
        return Path.of(System.getProperty("java.io.tmpdir"), "stagecrew-" + user);
    }
}
