package org.stagecrew.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileLocksTest {
    @TempDir
    Path dir;

    @Test
    void theHolderOfAWriteLockIsFoundByTheFilesDeviceAndInode() throws Exception {
        FileLocks locks = FileLocks.ofThisMachine();
        Assumptions.assumeTrue(locks.available(), "no /proc/locks here");
        Path file = Files.createFile(dir.resolve("x.sock.lock"));
        Path other = Files.createFile(dir.resolve("y.sock.lock"));
        assertEquals(OptionalLong.empty(), locks.writeLockHolder(file), "nobody holds it yet");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileLock lock = channel.lock()) {
            assertEquals(OptionalLong.of(ProcessHandle.current().pid()), locks.writeLockHolder(file));
            assertEquals(OptionalLong.empty(), locks.writeLockHolder(other), "a lock on another file is not this one's");
        }
        assertEquals(OptionalLong.empty(), locks.writeLockHolder(file), "released");
    }

    @Test
    void aMachineWithoutTheTableKnowsNoHolder() throws Exception {
        FileLocks none = new FileLocks(dir.resolve("no-such-table"));
        assertFalse(none.available());
        assertEquals(OptionalLong.empty(), none.writeLockHolder(Files.createFile(dir.resolve("z.lock"))));
    }

    @Test
    void deviceNumbersSplitAsGlibcComposesThem() {
        long[][] cases = {{8, 1}, {0, 0x2a}, {259, 3}, {0xfff, 0xff}, {0x1000, 0x100}, {0x12345, 0xabcde}};
        for (long[] c : cases) {
            long major = c[0];
            long minor = c[1];
            // glibc's makedev
            long dev = ((major & 0xfff) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xff) | ((minor & ~0xffL) << 12);
            assertEquals(major, FileLocks.major(dev), "major of " + Long.toHexString(dev));
            assertEquals(minor, FileLocks.minor(dev), "minor of " + Long.toHexString(dev));
        }
    }
}
