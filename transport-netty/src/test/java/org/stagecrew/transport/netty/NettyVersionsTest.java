package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.Version;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NettyVersionsTest {

    @TempDir
    Path dir;

    @Test
    void theBuildsOwnClassPathHasOneNettyRelease() {
        assertNull(NettyVersions.describeIfMixed(Version.identify()), "this build's Netty artifacts are aligned by netty-bom");
    }

    @Test
    void mixedReleasesAreNamedArtifactByArtifact() throws IOException {
        Map<String, Version> versions = identify(
                "netty-common", "4.2.17.Final", "netty-transport", "4.2.18.Final", "netty-buffer", "4.2.18.Final");
        assertEquals("netty-buffer 4.2.18.Final, netty-common 4.2.17.Final, netty-transport 4.2.18.Final",
                NettyVersions.describeIfMixed(versions));
    }

    @Test
    void oneReleaseIsNotReported() throws IOException {
        assertNull(NettyVersions.describeIfMixed(identify("netty-common", "4.1.133.Final", "netty-buffer", "4.1.133.Final")));
    }

    @Test
    void onNetty41TheAdviceIsToExcludeThe42OnlyArtifactsNotToImportA42Bom() throws IOException {
        Map<String, Version> versions = identify("netty-common", "4.1.137.Final", "netty-transport", "4.1.137.Final",
                "netty-codec-base", "4.2.18.Final", "netty-transport-classes-io_uring", "4.2.18.Final");
        String advice = NettyVersions.howToAlign(versions);
        assertTrue(advice.contains("exclude io.netty:netty-codec-base and io.netty:netty-transport-classes-io_uring"), advice);
        assertTrue(advice.contains("io.netty:netty-bom 4.1.137.Final"), advice);
        assertFalse(advice.contains("stagecrew-bom"), advice);
        String on42 = NettyVersions.howToAlign(identify("netty-common", "4.2.17.Final", "netty-transport", "4.2.18.Final"));
        assertTrue(on42.contains("org.stagecrew:stagecrew-bom"), on42);
    }

    @Test
    void theReleaseLineIsReadFromTheArtifactVersion() {
        assertEquals(Boolean.FALSE, NettyVersions.hasIoEventLoops("4.1.137.Final"));
        assertEquals(Boolean.TRUE, NettyVersions.hasIoEventLoops("4.2.18.Final"));
        assertEquals(Boolean.TRUE, NettyVersions.hasIoEventLoops("5.0.0.Alpha2"));
        assertNull(NettyVersions.hasIoEventLoops("unknown"));
    }

    /** What {@link Version#identify(ClassLoader)} reports for a class path of these artifact, version pairs. */
    private Map<String, Version> identify(String... artifactsAndVersions) throws IOException {
        StringBuilder properties = new StringBuilder();
        for (int i = 0; i < artifactsAndVersions.length; i += 2) {
            String artifact = artifactsAndVersions[i];
            // Netty's own file has all six keys; Version.identify skips an artifact that lacks one.
            properties.append(artifact).append(".version=").append(artifactsAndVersions[i + 1]).append('\n')
                    .append(artifact).append(".buildDate=2026-09-09 16\\:42\\:51 +0000\n")
                    .append(artifact).append(".commitDate=2026-09-09 16\\:23\\:06 +0000\n")
                    .append(artifact).append(".shortCommitHash=2521f49\n")
                    .append(artifact).append(".longCommitHash=2521f494432e27415a567d3a81a9eb907abf20b3\n")
                    .append(artifact).append(".repoStatus=clean\n");
        }
        Path meta = Files.createDirectories(dir.resolve("META-INF"));
        Files.writeString(meta.resolve("io.netty.versions.properties"), properties);
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
            return Version.identify(loader);
        }
    }
}
