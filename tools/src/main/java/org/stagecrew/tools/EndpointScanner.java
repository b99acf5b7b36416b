package org.stagecrew.tools;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.TreeSet;
import org.stagecrew.transport.netty.NettyTransports;

/**
 * Finds the endpoints of a socket directory without disturbing them: it never connects and never
 * takes a lock (a lock taken only to look would make a transport binding at that moment fail).
 * Who holds an address lock is read from the kernel's table of file locks ({@code /proc/locks});
 * where there is none (not Linux), from whether the pid in the lock file is alive.
 */
final class EndpointScanner {
    static final String LOCK_SUFFIX = ".lock";

    private final FileLocks locks;

    EndpointScanner(FileLocks locks) {
        this.locks = locks;
    }

    /**
     * The endpoints of {@code directory}, sorted by path: every socket file and every lock file
     * ({@code <socket>.lock}), paired.
     *
     * @throws ToolException naming the directory if it is missing, not a directory or not readable
     */
    List<Endpoint> scan(Path directory) {
        TreeSet<Path> sockets = new TreeSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.endsWith(LOCK_SUFFIX) && Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                    sockets.add(entry.resolveSibling(name.substring(0, name.length() - LOCK_SUFFIX.length())));
                } else if (isSocket(entry)) {
                    sockets.add(entry);
                }
            }
        } catch (NoSuchFileException e) {
            throw new ToolException("no such directory: " + directory + "; transports of this user bind in "
                    + "$TMPDIR/stagecrew-$USER unless configured otherwise (TransportConfig.socketDirectory)");
        } catch (NotDirectoryException e) {
            throw new ToolException(directory + " is not a directory; give the socket directory, not a socket file");
        } catch (AccessDeniedException e) {
            throw new ToolException("cannot read " + directory + ": permission denied; it belongs to another user"
                    + " (socket directories are private, mode 0700)");
        } catch (IOException e) {
            throw new ToolException("cannot read " + directory + ": " + e);
        }
        List<Endpoint> endpoints = new ArrayList<>();
        for (Path socket : sockets) {
            endpoints.add(inspect(socket));
        }
        return endpoints;
    }

    /** What is known of the endpoint whose socket file is (or was) {@code socketFile}. */
    Endpoint inspect(Path socketFile) {
        Path lockFile = socketFile.resolveSibling(socketFile.getFileName() + LOCK_SUFFIX);
        String user = ownerOf(Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS) ? lockFile : socketFile);
        if (!Files.isRegularFile(lockFile, LinkOption.NOFOLLOW_LINKS)) {
            return new Endpoint(socketFile, Endpoint.State.UNLOCKED, OptionalLong.empty(), user, null);
        }
        OptionalLong holder = locks.writeLockHolder(lockFile);
        OptionalLong named = NettyTransports.ownerPid(socketFile);
        boolean live;
        OptionalLong pid;
        if (locks.available()) {
            live = holder.isPresent();
            pid = live ? holder : named;
        } else {
            live = named.isPresent() && ProcessHandle.of(named.getAsLong()).map(ProcessHandle::isAlive).orElse(false);
            pid = named;
        }
        Instant started = live ? ProcessHandle.of(pid.getAsLong()).flatMap(p -> p.info().startInstant()).orElse(null) : null;
        return new Endpoint(socketFile, live ? Endpoint.State.LIVE : Endpoint.State.STALE, pid, user, started);
    }

    private static boolean isSocket(Path entry) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(entry, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return attributes.isOther(); // sockets, fifos and devices; a socket directory holds only sockets
        } catch (IOException e) {
            return false; // removed meanwhile
        }
    }

    private static String ownerOf(Path file) {
        try {
            return Files.getOwner(file, LinkOption.NOFOLLOW_LINKS).getName();
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }
}
