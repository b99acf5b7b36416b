package org.stagecrew.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * The kernel's table of POSIX record locks, as Linux shows it in {@code /proc/locks}: which process
 * holds a write lock on a file. Reading it takes no lock and opens nothing of the endpoint's.
 */
final class FileLocks {
    private final Path table;

    FileLocks(Path table) {
        this.table = table;
    }

    /** The table of this machine, or one that is never {@link #available()} where there is none. */
    static FileLocks ofThisMachine() {
        return new FileLocks(Path.of("/proc/locks"));
    }

    /** Whether this machine has the table; without it, nothing can be said of lock holders. */
    boolean available() {
        return Files.isReadable(table);
    }

    /** The pid of the process holding a POSIX write lock on {@code file}, if any. */
    OptionalLong writeLockHolder(Path file) {
        if (!available()) {
            return OptionalLong.empty();
        }
        long inode;
        long device;
        List<String> lines;
        try {
            inode = ((Number) Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS)).longValue();
            device = ((Number) Files.getAttribute(file, "unix:dev", LinkOption.NOFOLLOW_LINKS)).longValue();
            lines = Files.readAllLines(table);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return OptionalLong.empty(); // the file went away, or no unix attributes here
        }
        String id = String.format("%02x:%02x:%d", major(device), minor(device), inode);
        for (String line : lines) {
            // "1: POSIX  ADVISORY  WRITE 4242 00:2a:123456 0 EOF"; waiters show "->" after the number: not holders
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && !f[1].equals("->") && f[1].equals("POSIX") && f[3].equals("WRITE") && f[5].equals(id)) {
                try {
                    return OptionalLong.of(Long.parseLong(f[4]));
                } catch (NumberFormatException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }

    /** The major number of a Linux {@code dev_t}, as glibc's {@code gnu_dev_major}. */
    static long major(long dev) {
        return ((dev >>> 8) & 0xfff) | ((dev >>> 32) & 0xfffff000L);
    }

    /** The minor number of a Linux {@code dev_t}, as glibc's {@code gnu_dev_minor}. */
    static long minor(long dev) {
        return (dev & 0xff) | ((dev >>> 12) & 0xffffff00L);
    }
}
