package org.stagecrew.transport.netty;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.TransportException;

class SocketFilesTest {

    /** Binds a JDK listener at {@code path}; the JDK leaves the file behind when the channel closes. */
    private static ServerSocketChannel listenAt(Path path) throws IOException {
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        channel.bind(UnixDomainSocketAddress.of(path));
        return channel;
    }

    private static Path staleSocketAt(Path path) throws IOException {
        listenAt(path).close();
        assertTrue(Files.exists(path, NOFOLLOW_LINKS), "the JDK should leave the socket file behind on close");
        return path;
    }

    @Nested
    class PrepareDirectory {

        @Test
        void createsMissingDirectoryAndParentsWithMode0700(@TempDir Path tmp) throws IOException {
            Path dir = tmp.resolve("a/b/../b/sockets");

            Path prepared = SocketFiles.prepareDirectory(dir);

            assertEquals(tmp.resolve("a/b/sockets").toAbsolutePath(), prepared);
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(prepared)));
        }

        @Test
        void acceptsAnExistingPrivateDirectory(@TempDir Path tmp) throws IOException {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));

            assertEquals(tmp.toAbsolutePath().normalize(), SocketFiles.prepareDirectory(tmp));
        }

        @Test
        void refusesAnExistingDirectoryWritableByGroupOrOthers(@TempDir Path tmp) throws IOException {
            Path dir = Files.createDirectory(tmp.resolve("shared"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwx---"));

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.prepareDirectory(dir));

            assertEquals("prepare socket directory failed for " + dir + ": it is writable by group or others "
                    + "(mode 0770); make it private (chmod 700) or choose another directory", e.getMessage());
        }

        @Test
        void refusesASymbolicLinkEvenToAPrivateDirectory(@TempDir Path tmp) throws IOException {
            Path target = Files.createDirectory(tmp.resolve("real"),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path link = Files.createSymbolicLink(tmp.resolve("link"), target);

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.prepareDirectory(link));

            assertTrue(e.getMessage().startsWith("prepare socket directory failed for " + link + ": it is a symbolic link"),
                    e.getMessage());
        }

        @Test
        void refusesARegularFile(@TempDir Path tmp) throws IOException {
            Path file = Files.createFile(tmp.resolve("file"));

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.prepareDirectory(file));

            assertEquals("prepare socket directory failed for " + file + ": it exists and is not a directory", e.getMessage());
        }

        @Test
        void refusesADirectoryOwnedByAnotherUid(@TempDir Path tmp) throws IOException {
            assumeTrue(Files.exists(Path.of("/proc/self")), "reads this process's uid from /proc, which this OS lacks");
            int myUid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            Path dir = Path.of("/");
            if (myUid == 0) {
                dir = Files.createDirectory(tmp.resolve("foreign"));
                Files.setAttribute(dir, "unix:uid", 4242, NOFOLLOW_LINKS);
            }
            int ownerUid = (Integer) Files.getAttribute(dir, "unix:uid", NOFOLLOW_LINKS);
            assumeTrue(ownerUid != myUid, "needs a directory owned by another uid: run as root, or with / not owned by us");
            Path foreign = dir;

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.prepareDirectory(foreign));

            assertEquals("prepare socket directory failed for " + foreign + ": it is owned by uid " + ownerUid
                    + ", not by this process's uid " + myUid, e.getMessage());
        }
    }

    @Nested
    class UniqueName {

        @Test
        void isDistinctAcross1000CallsAndContainsThePid() {
            String pid = Long.toString(ProcessHandle.current().pid());
            Set<String> names = new HashSet<>();
            for (int i = 0; i < 1000; i++) {
                String name = SocketFiles.uniqueName("stagecrew-");
                assertTrue(name.matches("stagecrew-" + pid + "-\\d+\\.sock"), name);
                names.add(name);
            }
            assertEquals(1000, names.size());
        }
    }

    @Nested
    class ClearStale {

        @Test
        void doesNothingWhenNoFileExists(@TempDir Path tmp) {
            Path socket = tmp.resolve("absent.sock");

            assertDoesNotThrow(() -> SocketFiles.clearStale(socket));
            assertFalse(Files.exists(socket, NOFOLLOW_LINKS));
        }

        @Test
        void refusesARegularFileAndLeavesItAlone(@TempDir Path tmp) throws IOException {
            Path file = Files.writeString(tmp.resolve("data.sock"), "not a socket");

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.clearStale(file));

            assertEquals(TransportException.class, e.getClass());
            assertEquals("bind failed for " + file + ": the file exists and is not a socket; remove it or choose another name",
                    e.getMessage());
            assertEquals("not a socket", Files.readString(file));
        }

        @Test
        void refusesASymbolicLinkEvenWhenItPointsToAStaleSocket(@TempDir Path tmp) throws IOException {
            Path target = staleSocketAt(tmp.resolve("real.sock"));
            Path link = Files.createSymbolicLink(tmp.resolve("link.sock"), target);

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.clearStale(link));

            assertEquals("bind failed for " + link + ": the file exists and is not a socket; remove it or choose another name",
                    e.getMessage());
            assertTrue(Files.exists(target, NOFOLLOW_LINKS));
        }

        @Test
        void removesAStaleSocketFileThatNoListenerHolds(@TempDir Path tmp) throws IOException {
            Path socket = staleSocketAt(tmp.resolve("stale.sock"));

            SocketFiles.clearStale(socket);

            assertFalse(Files.exists(socket, NOFOLLOW_LINKS));
        }

        @Test
        void refusesASocketHeldByALiveListenerWithAddressInUse(@TempDir Path tmp) throws IOException {
            Path socket = tmp.resolve("live.sock");
            try (ServerSocketChannel live = listenAt(socket)) {
                assertTrue(live.isOpen());

                AddressInUseException e = assertThrows(AddressInUseException.class, () -> SocketFiles.clearStale(socket));

                assertEquals("bind failed for " + socket + ": the socket file is held by a live listener; "
                        + "stop that process or choose another name", e.getMessage());
                assertTrue(Files.exists(socket, NOFOLLOW_LINKS));
            }
        }
    }

    @Nested
    class RestrictPermissions {

        @Test
        void leavesTheSocketFileReadableAndWritableByItsOwnerOnly(@TempDir Path tmp) throws IOException {
            Path socket = tmp.resolve("own.sock");
            try (ServerSocketChannel live = listenAt(socket)) {
                assertTrue(live.isOpen());

                SocketFiles.restrictPermissions(socket);

                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket, NOFOLLOW_LINKS)));
            }
        }

        @Test
        void reportsAMissingFileWithItsPathAndCause(@TempDir Path tmp) {
            Path socket = tmp.resolve("gone.sock");

            TransportException e = assertThrows(TransportException.class, () -> SocketFiles.restrictPermissions(socket));

            assertTrue(e.getMessage().startsWith("bind failed for " + socket + ": cannot set permissions rw-------"), e.getMessage());
            assertInstanceOf(NoSuchFileException.class, e.getCause());
        }
    }

    @Nested
    class Unlink {

        @Test
        void removesAnExistingSocketFile(@TempDir Path tmp) throws IOException {
            Path socket = staleSocketAt(tmp.resolve("bye.sock"));

            SocketFiles.unlink(socket);

            assertFalse(Files.exists(socket, NOFOLLOW_LINKS));
        }

        @Test
        void doesNotThrowWhenTheFileIsMissing(@TempDir Path tmp) {
            assertDoesNotThrow(() -> SocketFiles.unlink(tmp.resolve("never-existed.sock")));
        }

        @Test
        void doesNotThrowWhenTheFileCannotBeRemoved(@TempDir Path tmp) throws IOException {
            // A non-empty directory cannot be deleted: an IOException that unlink must swallow and log.
            Path dir = Files.createDirectory(tmp.resolve("busy"));
            Files.createFile(dir.resolve("child"));

            assertDoesNotThrow(() -> SocketFiles.unlink(dir));
            assertTrue(Files.exists(dir));
        }
    }
}
