package org.stagecrew.concurrency;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.netty.NettyTransports;

/**
 * A unit's socket file as it was when the unit reported ready: its path, file key (device and
 * inode) and modification time. Unlinking it later removes it only if the file at that path is still
 * that one, not a newer unit's socket bound to the same name since, and only under the address's
 * lock ({@link NettyTransports#unlinkIfUnowned}): a newer unit that bound in between holds that lock,
 * so its files are never removed. The dead unit's lock file goes with its socket file.
 */
final class SocketFile {
    private static final Logger LOG = LoggerFactory.getLogger(SocketFile.class);

    private final Path path;
    private final Object fileKey;
    private final FileTime modified;

    private SocketFile(Path path, Object fileKey, FileTime modified) {
        this.path = path;
        this.fileKey = fileKey;
        this.modified = modified;
    }

    /** Records the files of these addresses that exist now; abstract names have none. */
    static List<SocketFile> record(Address... addresses) {
        List<SocketFile> files = new ArrayList<>();
        for (Address address : addresses) {
            if (address.isAbstract()) {
                continue;
            }
            Path path = address.toPath();
            try {
                BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (attributes.fileKey() != null) {
                    files.add(new SocketFile(path, attributes.fileKey(), attributes.lastModifiedTime()));
                }
            } catch (IOException e) {
                LOG.debug("could not record socket file {}: {}", path, e.toString());
            }
        }
        return List.copyOf(files);
    }

    /** Unlinks the file if it is still the one recorded; returns whether it did. */
    boolean unlinkIfUnchanged() {
        BasicFileAttributes now = attributes(path);
        if (now == null) {
            return false;
        }
        if (!Objects.equals(fileKey, now.fileKey()) || !modified.equals(now.lastModifiedTime())) {
            LOG.debug("left {} alone: it is no longer the file its unit created", path);
            return false;
        }
        return unlinkIfUnowned(path);
    }

    /** Unlinks {@code path} if it is a socket (not a link, directory or regular file); returns whether it did. */
    static boolean unlinkIfSocket(Path path) {
        BasicFileAttributes now = attributes(path);
        return now != null && now.isOther() && unlinkIfUnowned(path);
    }

    /** Unlinks the socket file and its lock file unless a live owner holds the address; never throws. */
    private static boolean unlinkIfUnowned(Path path) {
        try {
            return NettyTransports.unlinkIfUnowned(path);
        } catch (TransportException e) {
            LOG.warn("unlink failed for {}: {}", path, e.getMessage());
            return false;
        }
    }

    /** The file's own attributes (a link is not followed), or null if it is gone or unreadable (logged). */
    private static BasicFileAttributes attributes(Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            LOG.warn("unlink failed for {}: {}", path, e.toString());
            return null;
        }
    }
}
