package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.TransportException;

/**
 * The ownership of one socket file path: an exclusive advisory lock ({@code fcntl(2)} record lock,
 * through {@link FileChannel#tryLock()}) on the lock file beside it, {@code <socket file>.lock},
 * created with mode 0600 and holding the owner's pid in ASCII. The owner takes it before it probes,
 * replaces or binds the socket file and holds it for as long as the socket is bound, so probe,
 * unlink and bind never race with another binder, in this JVM or another process: one owner per
 * address.
 *
 * <p>Closing gives the address up in the one safe order: the socket file is unlinked (if it was
 * bound), then the lock file, both while the lock is still held, and only then is the lock
 * released. A new owner therefore never has a file removed by an old one. A process killed with
 * SIGKILL leaves both files behind, but the kernel drops its lock: the next binder takes the lock on
 * the same lock file, finds the socket file stale, and replaces it. The JVM's shutdown hook unlinks
 * the files of every address still owned, keeping the lock until the process ends.
 *
 * <p>Two rules keep the lock sound. Record locks belong to a process and any descriptor of the file
 * that the process closes drops them, so this JVM opens a held lock file through no other channel:
 * a second binder in the same JVM is refused by a JVM-wide set of held paths before it opens
 * anything, and {@link #ownerPid} reads a lock file only while no binder of this JVM can take it. And since the lock file is unlinked on close, a binder that opened it just before may
 * lock the unlinked file: after locking, it opens the path again and requires the JDK to report that
 * the file there is the one it holds ({@link OverlappingFileLockException}), else it retries.
 *
 * <p>Who owns a socket file, from another process: open its lock file and {@code tryLock()}; failing
 * to get the lock means a live owner, whose pid the file contains. Never do that from inside the
 * owning JVM (closing that channel would drop the owner's lock).
 *
 * <p>Thread-safety: all methods are thread-safe; {@link #close()} is idempotent.
 */
final class AddressLock implements AutoCloseable {
    /** The lock file of {@code x.sock} is {@code x.sock.lock}. */
    static final String SUFFIX = ".lock";

    private static final Logger LOG = LoggerFactory.getLogger(AddressLock.class);
    private static final int ATTEMPTS = 8;
    /** How long a dead owner's listening socket may outlive it (io_uring's deferred clean-up); see {@link #clearStale()}. */
    static final Duration LINGER_WAIT = Duration.ofSeconds(2);
    private static final Set<OpenOption> CREATE_RW = Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE, NOFOLLOW_LINKS);
    private static final Set<OpenOption> READ_EXISTING = Set.of(StandardOpenOption.READ, NOFOLLOW_LINKS);
    private static final byte[] PID = (ProcessHandle.current().pid() + "\n").getBytes(US_ASCII);
    /** Lock files held or being locked by this JVM, by real path. Added to only under {@link #GATE}. */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();
    /**
     * Makes "not held, so read the file" in {@link #ownerPid} atomic with respect to a binder of this
     * JVM adding the path to {@link #HELD}: without it, a reader that checked just before a binder
     * locked the file would close its descriptor after, and drop the binder's lock.
     */
    private static final Object GATE = new Object();
    /** Addresses owned now, for the shutdown hook. */
    private static final Set<AddressLock> OWNED = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean EXIT_HOOK_INSTALLED = new AtomicBoolean();

    private final Path socketFile;
    private final Path lockFile;
    private final FileChannel channel;
    private final FileChannel witness;
    /** Whether the lock file named an owner that is no longer alive: it was killed, or its JVM halted. */
    private final boolean previousOwnerDied;
    private boolean bound;
    private boolean released;

    private AddressLock(Path socketFile, Path lockFile, FileChannel channel, FileChannel witness, boolean previousOwnerDied) {
        this.previousOwnerDied = previousOwnerDied;
        this.socketFile = socketFile;
        this.lockFile = lockFile;
        this.channel = channel;
        this.witness = witness;
    }

    /**
     * Takes the ownership of {@code socketFile}'s path, waiting for nothing.
     *
     * @throws AddressInUseException if another transport or server channel of this JVM, or another
     *         process, owns it
     * @throws TransportException if the directory is missing or the lock file cannot be created or locked
     */
    static AddressLock acquire(Path socketFile) {
        Path lockFile = lockFileOf(Objects.requireNonNull(socketFile, "socketFile"));
        boolean added;
        synchronized (GATE) {
            added = HELD.add(lockFile);
        }
        if (!added) {
            throw new AddressInUseException("bind failed for " + socketFile + ": another transport or server channel of"
                    + " this JVM owns that address; close it first or choose another name");
        }
        try {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                AddressLock lock = tryAcquire(socketFile, lockFile);
                if (lock != null) {
                    OWNED.add(lock);
                    installExitHook();
                    return lock;
                }
            }
            throw new AddressInUseException("bind failed for " + socketFile + ": its lock file " + lockFile + " was replaced "
                    + ATTEMPTS + " times while this process locked it; other processes keep opening and closing that address");
        } catch (RuntimeException e) {
            HELD.remove(lockFile);
            throw e;
        }
    }

    /**
     * Removes the socket file at {@code socketFile} and its lock file if nobody owns the address: for
     * a parent whose child was killed and could not unlink its own files. It takes the address lock
     * first, so a new owner's files are never removed, and a live listener without a lock is left
     * alone too.
     *
     * @return true if nobody owns the address now (its files removed or absent); false if an owner
     *         or a live listener holds it (nothing touched)
     * @throws TransportException if the directory is missing or the path holds something other than a socket
     */
    static boolean unlinkIfUnowned(Path socketFile) {
        try (AddressLock lock = acquire(socketFile)) {
            lock.clearStale();
            return true;
        } catch (AddressInUseException owned) {
            return false;
        }
    }

    /**
     * The lock file of {@code socketFile}: beside it, named {@code <name>.lock}, in the real path of
     * its directory, so that two spellings of one directory name one lock file.
     *
     * @throws TransportException naming the directory if it does not exist or cannot be resolved
     */
    static Path lockFileOf(Path socketFile) {
        Path absolute = socketFile.toAbsolutePath().normalize();
        Path directory = absolute.getParent();
        try {
            return directory.toRealPath().resolve(absolute.getFileName() + SUFFIX);
        } catch (NoSuchFileException e) {
            throw new TransportException("bind failed for " + socketFile + ": the directory " + directory
                    + " does not exist; create it (mode 0700) or choose another directory", e);
        } catch (IOException e) {
            throw new TransportException("bind failed for " + socketFile + ": cannot resolve its directory " + directory
                    + " (" + e + ")", e);
        }
    }

    /** Returns the lock, or null if the lock file was replaced under us and the caller should try again. */
    private static AddressLock tryAcquire(Path socketFile, Path lockFile) {
        FileChannel channel = open(socketFile, lockFile, CREATE_RW);
        FileChannel witness = null;
        try {
            FileLock lock = lock(socketFile, lockFile, channel);
            String previousOwner = readPid(channel, false);
            // Our pid at once, in one write over the old content (then cut to length), so that a refused binder
            // reading it sees the previous owner's pid or ours, never an empty file for longer than needed.
            channel.write(ByteBuffer.wrap(PID), 0);
            channel.truncate(PID.length);
            witness = open(socketFile, lockFile, READ_EXISTING);
            if (witness != null && isTheFileWeLocked(witness)) {
                boolean previousOwnerDied = !previousOwner.isEmpty() && !isAlive(previousOwner);
                return new AddressLock(socketFile, lockFile, channel, witness, previousOwnerDied);
            }
            lock.release();
            closeQuietly(witness);
            closeQuietly(channel);
            return null;
        } catch (IOException e) {
            closeQuietly(witness);
            closeQuietly(channel);
            throw new TransportException("bind failed for " + socketFile + ": cannot lock " + lockFile + " (" + e + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(witness);
            closeQuietly(channel);
            throw e;
        }
    }

    private static FileLock lock(Path socketFile, Path lockFile, FileChannel channel) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            // Only a second path to the same file (a hard link) gets past HELD.
            throw new AddressInUseException("bind failed for " + socketFile + ": this JVM already holds its lock file "
                    + lockFile + " under another name; close that transport or choose another name", e);
        }
        if (lock == null) {
            String pid = readPid(channel, true);
            throw new AddressInUseException("bind failed for " + socketFile + ": the address is owned by "
                    + (pid.isEmpty() ? "another process" : "process " + pid) + ", which holds the lock file " + lockFile
                    + "; stop that process or choose another name");
        }
        return lock;
    }

    /** Whether the file now at the path is the one we hold: the JDK's table of this JVM's locks says so. */
    private static boolean isTheFileWeLocked(FileChannel witness) throws IOException {
        try {
            FileLock other = witness.tryLock(0, Long.MAX_VALUE, true);
            if (other != null) {
                other.release();
            }
            return false;
        } catch (OverlappingFileLockException same) {
            return true;
        }
    }

    private static FileChannel open(Path socketFile, Path lockFile, Set<OpenOption> options) {
        try {
            return options.contains(StandardOpenOption.CREATE)
                    ? FileChannel.open(lockFile, options, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                    : FileChannel.open(lockFile, options);
        } catch (NoSuchFileException e) {
            if (!options.contains(StandardOpenOption.CREATE)) {
                return null; // unlinked since we locked it: the caller tries again
            }
            throw new TransportException("bind failed for " + socketFile + ": the directory " + lockFile.getParent()
                    + " was removed; create it (mode 0700) or choose another directory", e);
        } catch (IOException e) {
            throw new TransportException("bind failed for " + socketFile + ": cannot open its lock file " + lockFile + " (" + e
                    + "); the directory must be writable by this user, and the lock file a regular file", e);
        }
    }

    /** The pid in the lock file, read through our own channel; "" if none, or if {@code liveOnly} and it is dead. */
    private static String readPid(FileChannel channel, boolean liveOnly) {
        try {
            ByteBuffer bytes = ByteBuffer.allocate(24);
            channel.read(bytes, 0);
            String text = new String(bytes.array(), 0, bytes.position(), US_ASCII).trim();
            // The owner writes its pid just after locking: until then the file may still hold a dead owner's.
            return text.matches("\\d{1,18}") && (!liveOnly || isAlive(text)) ? text : "";
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * The pid written in {@code socketFile}'s lock file, without locking it: this JVM's own pid if a
     * transport of this JVM owns the address (its lock file is then never opened: closing any
     * descriptor of it would drop our lock), else what the file says; empty if there is no lock
     * file, no pid in it, or it cannot be read. The pid may be that of a dead owner.
     */
    static java.util.OptionalLong ownerPid(Path socketFile) {
        Path lockFile;
        try {
            lockFile = lockFileOf(socketFile);
        } catch (TransportException e) {
            return java.util.OptionalLong.empty();
        }
        synchronized (GATE) {
            if (HELD.contains(lockFile)) {
                return java.util.OptionalLong.of(ProcessHandle.current().pid());
            }
            try {
                String text = java.nio.file.Files.readString(lockFile, US_ASCII).trim();
                return text.matches("\\d{1,18}") ? java.util.OptionalLong.of(Long.parseLong(text)) : java.util.OptionalLong.empty();
            } catch (IOException | RuntimeException e) {
                return java.util.OptionalLong.empty();
            }
        }
    }

    private static boolean isAlive(String pid) {
        return ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
    }

    Path socketFile() {
        return socketFile;
    }

    Path lockFile() {
        return lockFile;
    }

    /**
     * Makes the path free for bind, under this lock: nothing there is fine, a stale socket file is
     * removed, a live one refused. If the lock file named an owner that has died, its listener is
     * given up to {@link #LINGER_WAIT} to go away: a process killed while it used io_uring leaves a
     * listening socket that accepts connections until the kernel has cleaned up its ring.
     *
     * @throws AddressInUseException if a live listener holds the socket file
     * @throws TransportException if the path holds something other than a socket
     */
    void clearStale() {
        SocketFiles.clearStale(socketFile, previousOwnerDied ? LINGER_WAIT : Duration.ZERO);
        SocketFiles.unlink(CounterMemory.fileOf(socketFile)); // a dead owner's counters: the socket file was stale too
    }

    /** Records that the socket file at the path is now ours, so that closing unlinks it. */
    synchronized void bound() {
        bound = true;
    }

    /**
     * Gives the address up: unlinks the socket file if {@link #bound()} was called, then the lock
     * file, then releases the lock. Never throws; a failure is logged at WARN. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (released) {
            return;
        }
        unlinkFiles();
        released = true;
        closeQuietly(witness);
        closeQuietly(channel);
        OWNED.remove(this);
        HELD.remove(lockFile);
    }

    /** Unlinks the files while the lock is held; run by close and, for addresses still owned, at JVM exit. */
    private synchronized void unlinkFiles() {
        if (released) {
            return;
        }
        if (bound) {
            SocketFiles.unlink(socketFile);
        }
        SocketFiles.unlink(CounterMemory.fileOf(socketFile)); // ours or a dead owner's: we hold the lock
        SocketFiles.unlink(lockFile);
    }

    private static void installExitHook() {
        if (EXIT_HOOK_INSTALLED.compareAndSet(false, true)) {
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(
                        () -> OWNED.forEach(AddressLock::unlinkFiles), "stagecrew-unlink-on-exit"));
            } catch (IllegalStateException alreadyExiting) {
                LOG.warn("unlink-on-exit failed: the JVM is already shutting down");
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.warn("closing a lock file channel failed: {}", e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "AddressLock{" + lockFile + '}';
    }
}
