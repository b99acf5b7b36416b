package org.stagecrew.transport;

import io.netty.util.internal.PlatformDependent;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The defaults of {@link TransportConfig} that are computed or act, rather than constants. */
final class ConfigDefaults {
    private static final Logger UNDELIVERABLE_LOG = LoggerFactory.getLogger("org.stagecrew.transport.Undeliverable");

    /** The most {@link TransportConfig#defaultInboxCapacityBytes()} gives: 64 MiB. */
    static final long MAX_DEFAULT_INBOX_BYTES = 64L * 1024 * 1024;
    /** The least {@link TransportConfig#defaultInboxCapacityBytes()}, whatever the direct memory limit: 1 MiB. */
    static final long MIN_DEFAULT_INBOX_BYTES = 1024 * 1024;

    private ConfigDefaults() {
    }

    /** {@link TransportConfig#DEFAULT_UNDELIVERABLE_HANDLER}: a warning with the destination, count and cause. */
    static void logUndeliverable(Address destination, int frames, TransportException cause) {
        UNDELIVERABLE_LOG.warn("{} frame(s) to {} were not delivered: {}", frames, destination, cause.getMessage());
    }

    /** {@link TransportConfig#defaultInboxCapacityBytes()}, from the direct memory limit of this JVM. */
    static long inboxCapacityBytes() {
        return inboxCapacityBytes(PlatformDependent.maxDirectMemory());
    }

    static long inboxCapacityBytes(long maxDirectMemory) {
        if (maxDirectMemory <= 0) {
            return MAX_DEFAULT_INBOX_BYTES; // no known limit
        }
        return Math.min(MAX_DEFAULT_INBOX_BYTES, Math.max(MIN_DEFAULT_INBOX_BYTES, maxDirectMemory / 4));
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
