package org.stagecrew.transport.netty;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.IdleStrategy;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.TransportException;

/**
 * Owns everything about socket files on disk: the private directory they live in, their unique
 * names, replacing stale ones before bind, their 0600 permissions, and unlinking them. Who may
 * replace, bind and unlink the file at a path is {@link AddressLock}'s job: call {@link #clearStale}
 * only while holding it. Nothing here follows a symbolic link, so a directory or file planted by another
 * user is refused rather than used.
 *
 * <p>Thread-safety: all methods are thread-safe. The file system itself is shared with other
 * processes, so each check is only as good as the moment it was made.
 */
final class SocketFiles {

    private static final Logger LOG = LoggerFactory.getLogger(SocketFiles.class);

    // st_mode bits, from the "unix" attribute view, which with NOFOLLOW_LINKS reports lstat(2)'s raw mode.
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000, S_IFLNK = 0120000, S_IFDIR = 0040000;
    private static final int GROUP_OR_OTHERS_WRITE = 0022;
    private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

    private static final long PID = ProcessHandle.current().pid();
    private static final AtomicLong COUNTER = new AtomicLong();
    /** This process's uid, or null where the platform does not tell (then user names are compared). */
    private static final Integer PROCESS_UID = knownUid(PeerCredentials.ofThisProcess().uid());

    private SocketFiles() {}

    /** Creates {@code dir} (and missing parents) with mode 0700 if absent, else checks that it is private enough to hold sockets. */
    static Path prepareDirectory(Path dir) {
        Path abs = Objects.requireNonNull(dir, "dir").toAbsolutePath().normalize();
        if (!Files.exists(abs, NOFOLLOW_LINKS)) {
            try {
                // A parent may legitimately be a link (/var/run -> /run); only the leaf must not be.
                if (!Files.isDirectory(abs.getParent())) {
                    Files.createDirectories(abs.getParent(), PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
                }
                Files.createDirectory(abs, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
                // The umask may have stripped bits from the requested mode; we own it, so set it exactly.
                Files.setPosixFilePermissions(abs, OWNER_ONLY_DIR);
            } catch (FileAlreadyExistsException raced) {
                // Someone created it between our check and our mkdir: it gets the same scrutiny below.
            } catch (IOException e) {
                throw new TransportException("prepare socket directory failed for " + abs + ": cannot create it (" + e + ")", e);
            }
        }
        String failed = "prepare socket directory failed for " + abs + ": ";
        try {
            Map<String, Object> attrs = Files.readAttributes(abs, "unix:mode,uid", NOFOLLOW_LINKS);
            int mode = (Integer) attrs.get("mode");
            if ((mode & S_IFMT) == S_IFLNK) {
                throw new TransportException(failed + "it is a symbolic link, which is never followed; use the real directory or another one");
            }
            if ((mode & S_IFMT) != S_IFDIR) {
                throw new TransportException(failed + "it exists and is not a directory");
            }
            checkOwner(abs, (Integer) attrs.get("uid"), failed);
            if ((mode & GROUP_OR_OTHERS_WRITE) != 0) {
                throw new TransportException(failed + String.format("it is writable by group or others (mode %04o); "
                        + "make it private (chmod 700) or choose another directory", mode & 07777));
            }
        } catch (IOException e) {
            throw new TransportException(failed + "cannot read its attributes (" + e + ")", e);
        }
        return abs;
    }

    /** Returns a file name unique among live processes: prefix, pid, "-", a per-JVM counter, ".sock". */
    static String uniqueName(String prefix) {
        return Objects.requireNonNull(prefix, "prefix") + PID + "-" + COUNTER.incrementAndGet() + ".sock";
    }

    /**
     * Makes {@code socketFile} free for bind: nothing there is fine, a stale socket is removed.
     * Same as {@code clearStale(socketFile, Duration.ZERO)}.
     *
     * @throws AddressInUseException if a listener accepts connections on the socket file
     * @throws TransportException if the path holds something other than a socket, or probing or removing it fails
     */
    static void clearStale(Path socketFile) {
        clearStale(socketFile, Duration.ZERO);
    }

    /**
     * Makes {@code socketFile} free for bind: nothing there is fine, a stale socket is removed. A
     * socket that still accepts connections is waited for, up to {@code lingerWait}, to stop doing
     * so: the listening socket of a process killed while it used io_uring outlives the process until
     * the kernel's deferred clean-up of its ring has run.
     *
     * @throws AddressInUseException if a listener still accepts connections on the socket file after {@code lingerWait}
     * @throws TransportException if the path holds something other than a socket, or probing or removing it fails
     */
    static void clearStale(Path socketFile, Duration lingerWait) {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(Objects.requireNonNull(socketFile, "socketFile"), "unix:mode", NOFOLLOW_LINKS);
        } catch (NoSuchFileException absent) {
            return;
        } catch (IOException e) {
            throw new TransportException("bind failed for " + socketFile + ": cannot read its attributes (" + e + ")", e);
        }
        // Checked via st_mode rather than isOther(): a FIFO or device is "other" too, and a connect to
        // it is refused just like a stale socket, so it would be deleted.
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new TransportException("bind failed for " + socketFile
                    + ": the file exists and is not a socket; remove it or choose another name");
        }
        if (isLive(socketFile) && !awaitNotLive(socketFile, lingerWait)) {
            throw new AddressInUseException("bind failed for " + socketFile
                    + ": the socket file is held by a live listener; stop that process or choose another name");
        }
        try {
            Files.deleteIfExists(socketFile);
        } catch (IOException e) {
            throw new TransportException("bind failed for " + socketFile + ": cannot remove the stale socket file (" + e + ")", e);
        }
        LOG.info("replaced stale socket file {}", socketFile);
    }

    private static final IdleStrategy PROBE_BACKOFF = IdleStrategy.parking(1_000_000, 64_000_000);

    /** Probes again, backing off from 1 to 64 ms, until nothing listens or {@code wait} has passed. */
    private static boolean awaitNotLive(Path socketFile, Duration wait) {
        long start = System.nanoTime();
        long deadline = start + wait.toNanos();
        for (int attempt = 0; System.nanoTime() - deadline < 0; attempt++) {
            PROBE_BACKOFF.idleUntil(attempt, deadline);
            if (!isLive(socketFile)) {
                LOG.info("the listener of the dead owner of {} went away {} ms after it was first probed", socketFile,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                return true;
            }
        }
        return false;
    }

    private static boolean isLive(Path socketFile) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            // Non-blocking, because a blocking connect to a live listener with a full backlog waits
            // until that listener accepts, which may be never.
            probe.configureBlocking(false);
            probe.connect(UnixDomainSocketAddress.of(socketFile));
            return true;
        } catch (IOException e) {
            String message = String.valueOf(e.getMessage());
            if (message.contains("temporarily unavailable")) {
                return true; // EAGAIN: the listener is alive, its backlog is full
            }
            // Refused means stale; a file removed since we looked is held by nobody either.
            if (e instanceof ConnectException || message.contains("refused") || !Files.exists(socketFile, NOFOLLOW_LINKS)) {
                return false;
            }
            throw new TransportException("bind failed for " + socketFile + ": cannot probe the existing socket file (" + e + ")", e);
        }
    }

    /** Sets the socket file's permissions to rw------- (0600). */
    static void restrictPermissions(Path socketFile) {
        try {
            Files.setPosixFilePermissions(Objects.requireNonNull(socketFile, "socketFile"), OWNER_ONLY_FILE);
        } catch (IOException e) {
            throw new TransportException("bind failed for " + socketFile + ": cannot set permissions rw------- (" + e + ")", e);
        }
    }

    /** Unlinks the file if present; never throws, a failure is logged at WARN. */
    static void unlink(Path socketFile) {
        try {
            Files.deleteIfExists(socketFile);
        } catch (IOException e) {
            LOG.warn("unlink failed for {}: {}", socketFile, e.toString());
        }
    }

    private static void checkOwner(Path dir, int ownerUid, String failed) throws IOException {
        String owner = PROCESS_UID != null ? "uid " + ownerUid : "user " + Files.getOwner(dir, NOFOLLOW_LINKS).getName();
        String self = PROCESS_UID != null ? "uid " + PROCESS_UID : "user " + System.getProperty("user.name");
        if (!owner.equals(self)) {
            throw new TransportException(failed + "it is owned by " + owner + ", not by this process's " + self);
        }
    }

    private static Integer knownUid(int uid) {
        return uid >= 0 ? uid : null;
    }
}
