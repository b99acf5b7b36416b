package org.stagecrew.concurrency;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An application class-data sharing (AppCDS) archive of a process unit's classes, made on first use
 * and mapped by every later child JVM, which then loads and verifies far fewer classes at start.
 * One archive per JVM and class path and JVM options: {@code <directory>/<sha-256 of java.home,
 * java.vm.version, class path and options>.jsa}.
 *
 * <ul>
 *   <li>JDK 19 and later: {@code -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile=<archive>}; the
 *       JVM makes, checks and remakes the archive itself.
 *   <li>JDK 17 and 18: while no archive exists, one child at a time (the one that creates {@code
 *       <archive>.creating} first) runs with {@code -XX:ArchiveClassesAtExit=<archive>.<pid>.tmp},
 *       which the JVM writes as it exits normally (a stop, or its task's end; not a SIGKILL);
 *       its starter then moves it into place. Later children run with {@code
 *       -XX:SharedArchiveFile=<archive>}; a JVM that cannot use it (a mismatch) runs without it
 *       ({@code -Xshare:auto}, the default).
 * </ul>
 *
 * <p>Only for a class path of jar files: the JVM cannot archive classes from a directory (a class
 * path with {@code target/classes}, as in a build's tests, gets no archive).
 *
 * <p>The directory is {@code cds/} in the default socket directory (private to the user), or the
 * system property {@value #DIRECTORY_PROPERTY}. Off when the system property {@value #PROPERTY} is {@code false}, or when the options already
 * name an archive or {@code -Xshare}.
 */
final class ClassDataSharing {
    static final String PROPERTY = "stagecrew.cds";
    static final String DIRECTORY_PROPERTY = "stagecrew.cds.directory";
    private static final Logger LOG = LoggerFactory.getLogger(ClassDataSharing.class);
    /** A creation marker older than this is from a starter that died; it is taken over. */
    private static final Duration STALE_MARKER = Duration.ofMinutes(10);

    /** What to add to a child's command, and what to do once the child has ended. */
    record Plan(List<String> options, Runnable onExit) {
        static final Plan NONE = new Plan(List.of(), () -> { });
    }

    private ClassDataSharing() {
    }

    static Plan plan(Path directory, String classPath, List<String> jvmOptions) {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))
                || jvmOptions.stream().anyMatch(o -> o.startsWith("-Xshare") || o.contains("SharedArchiveFile")
                        || o.contains("ArchiveClassesAtExit"))) {
            return Plan.NONE;
        }
        String directoryEntry = directoryIn(classPath);
        if (directoryEntry != null) {
            // The JVM archives classes from jar files only: with a class directory, dumping fails and the child exits with 1.
            LOG.debug("no class-data archive: the class path holds the directory {}; CDS needs jar files", directoryEntry);
            return Plan.NONE;
        }
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            LOG.debug("no class-data archive: cannot create {}: {}", directory, e.toString());
            return Plan.NONE;
        }
        Path archive = directory.resolve(key(classPath, jvmOptions) + ".jsa");
        if (Runtime.version().feature() >= 19) {
            return new Plan(List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + archive), () -> { });
        }
        if (Files.isRegularFile(archive)) {
            return new Plan(List.of("-XX:SharedArchiveFile=" + archive), () -> { });
        }
        Path marker = Path.of(archive + ".creating");
        if (!claim(marker)) {
            return Plan.NONE; // another start is making it
        }
        Path tmp = Path.of(archive + "." + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".tmp");
        return new Plan(List.of("-XX:ArchiveClassesAtExit=" + tmp), () -> {
            try {
                if (Files.isRegularFile(tmp) && Files.size(tmp) > 0) {
                    Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE);
                    LOG.info("class-data archive {} made for the next process units", archive);
                }
            } catch (IOException e) {
                LOG.warn("class-data archive {} could not be put in place: {}", archive, e.toString());
            } finally {
                try {
                    Files.deleteIfExists(tmp);
                    Files.deleteIfExists(marker);
                } catch (IOException e) {
                    LOG.debug("could not remove {}: {}", marker, e.toString());
                }
            }
        });
    }

    private static boolean claim(Path marker) {
        try {
            Files.createFile(marker);
            return true;
        } catch (FileAlreadyExistsException e) {
            try {
                if (Files.getLastModifiedTime(marker).toInstant().isBefore(Instant.now().minus(STALE_MARKER))) {
                    Files.setLastModifiedTime(marker, java.nio.file.attribute.FileTime.from(Instant.now()));
                    return true;
                }
            } catch (IOException ignored) {
                // gone meanwhile: someone finished; this start goes without
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** The first class path entry that is a non-empty directory, or null. */
    static String directoryIn(String classPath) {
        for (String entry : classPath.split(java.io.File.pathSeparator)) {
            Path path = Path.of(entry.isEmpty() ? "." : entry);
            if (Files.isDirectory(path)) {
                try (var children = Files.list(path)) {
                    if (children.findAny().isPresent()) {
                        return entry;
                    }
                } catch (IOException e) {
                    return entry;
                }
            }
        }
        return null;
    }

    /** The options that shape an archive: not logging or system properties, which a child may vary freely. */
    private static List<String> keyOptions(List<String> jvmOptions) {
        return jvmOptions.stream().filter(o -> !o.startsWith("-Xlog") && !o.startsWith("-D")).toList();
    }

    /** Where archives are kept: {@value #DIRECTORY_PROPERTY} if set, else {@code cds/} in {@code defaultDirectory}. */
    static Path directory(Path defaultDirectory) {
        String configured = System.getProperty(DIRECTORY_PROPERTY);
        return configured != null ? Path.of(configured) : defaultDirectory.resolve("cds");
    }

    /** Size and modification time of each class path entry: a rebuilt jar needs a new archive. */
    private static String stamps(String classPath) {
        StringBuilder text = new StringBuilder();
        for (String entry : classPath.split(java.io.File.pathSeparator)) {
            try {
                Path path = Path.of(entry);
                if (Files.isRegularFile(path)) {
                    text.append(Files.size(path)).append('@').append(Files.getLastModifiedTime(path).toMillis());
                }
            } catch (IOException | RuntimeException e) {
                text.append('?');
            }
            text.append(';');
        }
        return text.toString();
    }

    private static String key(String classPath, List<String> jvmOptions) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String part : List.of(System.getProperty("java.home"), System.getProperty("java.vm.version"), classPath,
                    String.join("\u0000", keyOptions(jvmOptions)), stamps(classPath))) {
                sha.update(part.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
