package org.stagecrew.concurrency;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log files of a process unit: one per start, named {@code <unit>-<UTC start time>.log}, e.g.
 * {@code worker-1-20261202T063012.345Z.log} ({@code -2}, {@code -3}... appended if two starts share
 * a millisecond), so that a restart never appends to, nor overwrites, the log of the run before it.
 * At each start the oldest of the unit's log files beyond a limit are deleted. Names sort by time.
 */
final class UnitLogFiles {
    private static final Logger LOG = LoggerFactory.getLogger(UnitLogFiles.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private UnitLogFiles() {
    }

    /**
     * Creates the new, empty log file of {@code unit}'s start at {@code now} in {@code directory}, and
     * deletes the unit's oldest log files so that at most {@code kept} remain, the new one included.
     *
     * @throws IOException if the directory or the file cannot be created
     */
    static Path create(Path directory, String unit, Instant now, int kept) throws IOException {
        Files.createDirectories(directory);
        String base = unit + "-" + STAMP.format(now);
        Path file = directory.resolve(base + ".log");
        for (int n = 2; ; n++) {
            try {
                Files.createFile(file);
                break;
            } catch (FileAlreadyExistsException e) {
                file = directory.resolve(base + "-" + n + ".log");
            }
        }
        prune(directory, unit, kept);
        return file;
    }

    /** The unit's log files in {@code directory}, oldest first. */
    static List<Path> of(Path directory, String unit) throws IOException {
        Pattern name = Pattern.compile(Pattern.quote(unit) + "-\\d{8}T\\d{6}\\.\\d{3}Z(-\\d+)?\\.log");
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                if (name.matcher(entry.getFileName().toString()).matches()) {
                    files.add(entry);
                }
            }
        }
        files.sort(Comparator.comparing(UnitLogFiles::sortKey));
        return files;
    }

    private static void prune(Path directory, String unit, int kept) throws IOException {
        List<Path> files = of(directory, unit);
        for (Path old : files.subList(0, Math.max(0, files.size() - kept))) {
            try {
                Files.deleteIfExists(old);
            } catch (IOException e) {
                LOG.warn("unit {}: could not delete its old log {}: {}", unit, old, e.toString());
            }
        }
    }

    /** Time stamp, then the number of a same-millisecond start (none sorts first). */
    private static String sortKey(Path file) {
        String name = file.getFileName().toString();
        String stem = name.substring(0, name.length() - ".log".length());
        int z = stem.lastIndexOf('Z');
        String suffix = stem.substring(z + 1);
        int n = suffix.isEmpty() ? 1 : Integer.parseInt(suffix.substring(1));
        return stem.substring(0, z + 1) + String.format("%09d", n);
    }
}
