package org.stagecrew.transport.netty;

import io.netty.util.Version;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.UnsupportedNettyVersionException;

/**
 * Knows which Netty release is on the class path: whether it has Netty 4.2's {@code IoHandler} event
 * loops (the transport needs them; the drop-in runs on 4.1 too), and warns once per JVM when the Netty
 * artifacts come from different releases. Maven picks each {@code io.netty} artifact's version by
 * declaration order unless a BOM fixes them all, so an application can end up with, say, {@code
 * netty-common} 4.2.17 beside {@code netty-transport} 4.2.18, which fails later in ways that do not
 * name the cause.
 *
 * <p>Thread-safe; each check runs once per JVM and costs nothing after.
 */
final class NettyVersions {
    private static final Logger LOG = LoggerFactory.getLogger(NettyVersions.class);
    private static final AtomicBoolean CHECKED = new AtomicBoolean();

    private NettyVersions() {
    }

    /** Logs one warning naming every artifact and its version if they are mixed; only the first call checks. */
    static void warnOnceIfMixed() {
        if (CHECKED.compareAndSet(false, true)) {
            Map<String, Version> versions = Version.identify();
            String mixed = describeIfMixed(versions);
            if (mixed != null) {
                LOG.warn("Netty artifacts from different releases are on the class path: {}. {}", mixed, howToAlign(versions));
            }
        }
    }

    /**
     * What to do about mixed releases: on Netty 4.1, drop the artifacts that exist only in 4.2, which
     * stagecrew-transport-netty brings and no 4.1 BOM aligns; else align everything with a BOM.
     */
    static String howToAlign(Map<String, Version> versions) {
        Version transport = versions.get("netty-transport");
        if (transport != null && Boolean.FALSE.equals(hasIoEventLoops(transport.artifactVersion()))) {
            return "On Netty 4.1, exclude io.netty:netty-codec-base and io.netty:netty-transport-classes-io_uring "
                    + "(they exist only in Netty 4.2) from org.stagecrew:stagecrew-transport-netty, depend on "
                    + "io.netty:netty-codec, and import io.netty:netty-bom " + transport.artifactVersion()
                    + " in dependencyManagement";
        }
        return "Align them, for example by importing org.stagecrew:stagecrew-bom (or io.netty:netty-bom) in dependencyManagement";
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

    /** Whether the class path has Netty 4.2's {@code MultiThreadIoEventLoopGroup} and {@code IoHandler}s. */
    static boolean hasIoEventLoops() {
        return Release.HAS_IO_EVENT_LOOPS;
    }

    /** "netty-transport 4.1.137.Final", or what is known when no version file is on the class path. */
    static String transportVersion() {
        return Release.TRANSPORT;
    }

    /**
     * Fails at once, before any Netty 4.2 class is touched, when {@code operation} cannot run on the
     * Netty found.
     *
     * @throws UnsupportedNettyVersionException naming the operation, the version found and the fix
     */
    static void requireIoEventLoops(String operation) {
        if (!hasIoEventLoops()) {
            throw new UnsupportedNettyVersionException(operation + " needs Netty 4.2 or newer, and the class path has "
                    + transportVersion() + ": import org.stagecrew:stagecrew-bom (or io.netty:netty-bom 4.2.x) in "
                    + "dependencyManagement to move to Netty 4.2, or, to stay on Netty 4.1, use only the drop-in "
                    + "(DomainSockets' event loop groups, channel types, addresses and bind, and FrameCodec)");
        }
    }

    /**
     * Whether {@code artifactVersion} ("4.1.137.Final") is of a release with IoHandler event loops
     * (4.2 and later), or {@code null} if it cannot be read.
     */
    static Boolean hasIoEventLoops(String artifactVersion) {
        String[] parts = artifactVersion.split("\\.");
        try {
            int major = Integer.parseInt(parts[0]);
            int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            return major > 4 || (major == 4 && minor >= 2);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Decided once, at first use: by {@link Version}, or by the class itself where no version file is found (a shaded jar). */
    private static final class Release {
        static final String TRANSPORT;
        static final boolean HAS_IO_EVENT_LOOPS;

        static {
            Version transport = Version.identify(NettyVersions.class.getClassLoader()).get("netty-transport");
            Boolean byVersion = transport == null ? null : hasIoEventLoops(transport.artifactVersion());
            if (byVersion != null) {
                TRANSPORT = "netty-transport " + transport.artifactVersion();
                HAS_IO_EVENT_LOOPS = byVersion;
            } else {
                HAS_IO_EVENT_LOOPS = classExists("io.netty.channel.MultiThreadIoEventLoopGroup");
                TRANSPORT = "a Netty " + (HAS_IO_EVENT_LOOPS ? "with" : "without")
                        + " io.netty.channel.MultiThreadIoEventLoopGroup (4.2 has it) and no version file";
            }
        }

        private static boolean classExists(String name) {
            try {
                Class.forName(name, false, NettyVersions.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }
    }
}
