package org.stagecrew.transport.netty;

import io.netty.util.Version;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns once per JVM when the Netty artifacts on the class path come from different releases.
 * Maven picks each {@code io.netty} artifact's version by declaration order unless a BOM fixes them
 * all, so an application can end up with, say, {@code netty-common} 4.2.17 beside {@code
 * netty-transport} 4.2.18, which fails later in ways that do not name the cause.
 *
 * <p>Thread-safe; the check runs on the first transport or drop-in helper and costs nothing after.
 */
final class NettyVersions {
    private static final Logger LOG = LoggerFactory.getLogger(NettyVersions.class);
    private static final AtomicBoolean CHECKED = new AtomicBoolean();

    private NettyVersions() {
    }

    /** Logs one warning naming every artifact and its version if they are mixed; only the first call checks. */
    static void warnOnceIfMixed() {
        if (CHECKED.compareAndSet(false, true)) {
            String mixed = describeIfMixed(Version.identify());
            if (mixed != null) {
                LOG.warn("Netty artifacts from different releases are on the class path: {}. Align them, "
                        + "for example by importing org.stagecrew:stagecrew-bom (or io.netty:netty-bom) in "
                        + "dependencyManagement", mixed);
            }
        }
    }

    /**
     * Returns "artifact version, …" sorted by artifact when {@code versions} holds more than one
     * release, else {@code null}.
     */
    static String describeIfMixed(Map<String, Version> versions) {
        Map<String, String> byArtifact = new TreeMap<>();
        versions.forEach((artifact, version) -> byArtifact.put(artifact, version.artifactVersion()));
        if (byArtifact.values().stream().distinct().count() <= 1) {
            return null;
        }
        StringBuilder text = new StringBuilder();
        byArtifact.forEach((artifact, version) ->
                text.append(text.length() == 0 ? "" : ", ").append(artifact).append(' ').append(version));
        return text.toString();
    }
}
