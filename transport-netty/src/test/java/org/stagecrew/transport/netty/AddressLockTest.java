package org.stagecrew.transport.netty;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

class AddressLockTest {
    private static final String PID = Long.toString(ProcessHandle.current().pid());

    @TempDir
    Path dir;

    @Test
    void theLockFileBesideTheSocketFileIsPrivateAndNamesTheOwnersPid() throws IOException {
        Path socket = dir.resolve("a.sock");
        try (AddressLock lock = AddressLock.acquire(socket)) {
            Path lockFile = dir.resolve("a.sock.lock");
            assertEquals(lockFile, lock.lockFile());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(lockFile, NOFOLLOW_LINKS)));
            assertTrue(isLockedByThisProcess(lockFile), "the kernel lists our lock on " + lockFile);
            // Read by stat-free means only: opening it in this JVM would drop the lock (see AddressLock).
            assertEquals(PID.length() + 1, Files.size(lockFile));
        }
        assertFalse(Files.exists(dir.resolve("a.sock.lock"), NOFOLLOW_LINKS), "close removes the lock file");
    }

    @Test
    void aSecondOwnerInThisJvmIsRefusedAndTheFirstKeepsItsKernelLock() throws IOException {
        Path socket = dir.resolve("b.sock");
        try (AddressLock first = AddressLock.acquire(socket)) {
            AddressInUseException e = assertThrows(AddressInUseException.class, () -> AddressLock.acquire(socket));
            assertEquals("bind failed for " + socket + ": another transport or server channel of this JVM owns that"
                    + " address; close it first or choose another name", e.getMessage());
            AddressInUseException otherSpelling = assertThrows(AddressInUseException.class,
                    () -> AddressLock.acquire(dir.resolve("x/../b.sock")));
            assertTrue(otherSpelling.getMessage().contains("of this JVM owns"), otherSpelling.getMessage());

            assertTrue(isLockedByThisProcess(first.lockFile()), "a refused second binder must not drop the owner's lock");
        }
    }

    @Test
    void closingBeforeBindLeavesTheSocketFileAloneAndClosingAfterBindRemovesIt() throws IOException {
        Path socket = staleSocketAt(dir.resolve("c.sock"));
        AddressLock unbound = AddressLock.acquire(socket);
        unbound.close();
        assertTrue(Files.exists(socket, NOFOLLOW_LINKS), "the file at the path is not ours until bound()");

        AddressLock owner = AddressLock.acquire(socket);
        owner.bound();
        owner.close();
        owner.close(); // idempotent
        assertFalse(Files.exists(socket, NOFOLLOW_LINKS));
        assertFalse(Files.exists(owner.lockFile(), NOFOLLOW_LINKS));
    }

    @Test
    void theLockFileOfAKilledOwnerIsTakenOver() throws IOException {
        Path socket = dir.resolve("d.sock");
        Files.writeString(dir.resolve("d.sock.lock"), "999999999\n"); // longer than our pid: cut to length
        try (AddressLock lock = AddressLock.acquire(socket)) {
            assertTrue(isLockedByThisProcess(lock.lockFile()));
            assertEquals(PID.length() + 1, Files.size(lock.lockFile()), "the dead owner's pid is replaced by ours");
        }
    }

    @Test
    void aLockFileThatIsASymbolicLinkIsRefusedAndItsTargetLeftAlone() throws IOException {
        Path target = Files.writeString(dir.resolve("target"), "keep");
        Path link = Files.createSymbolicLink(dir.resolve("e.sock.lock"), target);
        Path socket = dir.resolve("e.sock");

        TransportException e = assertThrows(TransportException.class, () -> AddressLock.acquire(socket));

        assertTrue(e.getMessage().startsWith("bind failed for " + socket + ": cannot open its lock file " + link), e.getMessage());
        assertEquals("keep", Files.readString(target));
        try (AddressLock again = AddressLock.acquire(dir.resolve("f.sock"))) {
            assertTrue(isLockedByThisProcess(again.lockFile()), "a failed acquire leaves no trace that blocks others");
        }
    }

    @Test
    void aMissingDirectoryIsNamed() {
        Path socket = dir.resolve("missing/g.sock");

        TransportException e = assertThrows(TransportException.class, () -> AddressLock.acquire(socket));

        assertEquals("bind failed for " + socket + ": the directory " + dir.resolve("missing")
                + " does not exist; create it (mode 0700) or choose another directory", e.getMessage());
    }

    @Test
    void unlinkIfUnownedRemovesADeadOwnersFilesButNotAnOwnedAddressNorALiveListener() throws IOException {
        Path dead = staleSocketAt(dir.resolve("dead.sock"));
        Files.writeString(AddressLock.lockFileOf(dead), "999999999\n");
        assertTrue(NettyTransports.unlinkIfUnowned(dead));
        assertFalse(Files.exists(dead, NOFOLLOW_LINKS));
        assertFalse(Files.exists(AddressLock.lockFileOf(dead), NOFOLLOW_LINKS));
        assertTrue(NettyTransports.unlinkIfUnowned(dead), "nothing there: nobody owns it");

        Path owned = dir.resolve("owned.sock");
        if (NettyVersions.hasIoEventLoops()) { // a Transport needs Netty 4.2; this suite runs on 4.1 too
            try (Transport owner = Transport.open(TransportConfig.builder().socketDirectory(dir).fileName("owned.sock").build())) {
                assertFalse(NettyTransports.unlinkIfUnowned(owned));
                assertTrue(Files.exists(owned, NOFOLLOW_LINKS) && Files.exists(AddressLock.lockFileOf(owned), NOFOLLOW_LINKS));
                assertTrue(owner.isOpen());
            }
        }

        Path live = dir.resolve("live.sock");
        try (ServerSocketChannel foreign = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            foreign.bind(UnixDomainSocketAddress.of(live));
            assertFalse(NettyTransports.unlinkIfUnowned(live));
            assertTrue(Files.exists(live, NOFOLLOW_LINKS));
            assertFalse(Files.exists(AddressLock.lockFileOf(live), NOFOLLOW_LINKS));
        }
    }

    private static Path staleSocketAt(Path path) throws IOException {
        try (ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.bind(UnixDomainSocketAddress.of(path));
        }
        return path;
    }

    @Test
    void askingWhoOwnsAnAddressWhileThisJvmTakesItNeverDropsTheNewOwnersLock() throws Exception {
        Path socket = dir.resolve("g.sock");
        AtomicBoolean done = new AtomicBoolean();
        // A logger naming a peer's pid (Failures, Jfr, DeathWatch) asks from any thread, at any moment.
        Thread asker = new Thread(() -> {
            while (!done.get()) {
                AddressLock.ownerPid(socket);
            }
        }, "owner-pid-asker");
        asker.start();
        int dropped = 0;
        try {
            for (int round = 0; round < 2_000; round++) {
                try (AddressLock lock = AddressLock.acquire(socket)) {
                    if (!isLockedByThisProcess(lock.lockFile())) {
                        dropped++;
                    }
                }
            }
        } finally {
            done.set(true);
            asker.join(10_000);
        }
        assertEquals(0, dropped, "rounds in which reading the lock file for its pid dropped this JVM's fresh lock");
    }

    /** Whether /proc/locks lists a POSIX write lock of this process on the file's inode (Linux only). */
    private static boolean isLockedByThisProcess(Path file) throws IOException {
        Path locks = Path.of("/proc/locks");
        assumeTrue(Files.isReadable(locks), "reads the kernel's lock table from /proc/locks, which this OS lacks");
        long inode = (Long) Files.getAttribute(file, "unix:ino", NOFOLLOW_LINKS);
        List<String> lines = Files.readAllLines(locks);
        return lines.stream().map(l -> l.trim().split("\\s+"))
                .anyMatch(f -> f.length > 5 && f[1].equals("POSIX") && f[3].equals("WRITE") && f[4].equals(PID)
                        && f[5].endsWith(":" + inode));
    }
}
