package org.stagecrew.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** File chores of a stage: its private directories, finding socket files, reading log tails. */
final class StageFiles {
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000;

    private StageFiles() {
    }

    /** Creates a new directory {@code <root>/<prefix><random>} with mode 0700. */
    static Path createPrivateDirectory(Path root, String prefix) {
        try {
            Files.createDirectories(root);
            Path dir = Files.createTempDirectory(root, prefix,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------")); // whatever the umask took
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("create socket directory failed in " + root + ": " + e.getMessage(), e);
        }
    }

    /** Creates {@code dir} afresh: an existing one (from an earlier run) is emptied. */
    static Path freshDirectory(Path dir) {
        try {
            deleteRecursively(dir);
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("create log directory failed for " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The socket files in {@code dir} and its subdirectories, without following links. */
    static List<Path> socketFiles(Path dir) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir, 4)) {
            return files.filter(StageFiles::isSocket).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of();
        }
    }

    static boolean isSocket(Path file) {
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & S_IFMT) == S_IFSOCK;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            try {
                return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
            } catch (IOException gone) {
                return false;
            }
        }
    }

    /** The {@code *.log} files in {@code dir}, sorted by name. */
    static List<Path> logFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".log")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The last {@code count} lines of a log, or a line saying why it could not be read. */
    static List<String> tail(Path log, int count) {
        List<String> lines = readLines(log);
        return lines.subList(Math.max(0, lines.size() - count), lines.size());
    }

    /** Every line of a log that reports a Netty leak, with the few lines after it (the leak's records). */
    static List<String> leakReports(Path log, String marker, int context) {
        List<String> lines = readLines(log);
        List<String> reports = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(marker)) {
                reports.add(String.join("\n    ", lines.subList(i, Math.min(lines.size(), i + 1 + context))));
            }
        }
        return reports;
    }

    private static List<String> readLines(Path log) {
        try {
            // Lenient decoding: a child killed mid-line may leave half a character behind.
            return new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            return List.of("(log " + log + " could not be read: " + e + ")");
        }
    }

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.deleteIfExists(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Deletes {@code dir} and what it holds, or throws naming it. */
    static void deleteOrThrow(Path dir) {
        try {
            deleteRecursively(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("delete failed for " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Deletes {@code dir} and what it holds; a failure is printed to stderr, not thrown. */
    static void deleteQuietly(Path dir) {
        try {
            deleteRecursively(dir);
        } catch (IOException e) {
            System.err.println("[stagecrew] could not delete " + dir + ": " + e);
        }
    }
}
