package org.stagecrew.transport;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * The address of a transport: the path of its Unix Domain Socket file, or a name in Linux's
 * abstract socket namespace (no file at all; see
 * <a href="https://man7.org/linux/man-pages/man7/unix.7.html">unix(7)</a>).
 *
 * <p>An immutable value; two addresses are equal when their paths (names) and kinds are equal.
 * Creating one checks that it fits into {@code sun_path}: at most {@link #MAX_PATH_BYTES} bytes of
 * UTF-8 on this platform (the terminating NUL of a path, or the leading NUL of an abstract name,
 * not counted). {@link #toString()} shows an abstract name as {@code @name}, as {@code ss(8)} does.
 *
 * @param path the socket file's path, or the abstract name without its leading NUL; never empty
 * @param isAbstract whether this is a Linux abstract-namespace name rather than a file path
 */
public record Address(String path, boolean isAbstract) {

    /** Bytes of {@code sun_path} on Linux, including the terminating NUL. */
    public static final int SUN_PATH_LINUX = 108;

    /** Bytes of {@code sun_path} on macOS and the BSDs, including the terminating NUL. */
    public static final int SUN_PATH_BSD = 104;

    /** The longest path, in UTF-8 bytes, that this platform accepts for a socket file. */
    public static final int MAX_PATH_BYTES = sunPathBytes() - 1;

    /**
     * Creates an address after checking the path or name.
     *
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if it is empty, contains a NUL character, or is longer than
     *     {@link #MAX_PATH_BYTES} bytes; the message names it, its length and the limit
     */
    public Address {
        Objects.requireNonNull(path, "path");
        String kind = isAbstract ? "abstract socket name" : "socket path";
        if (path.isEmpty()) {
            throw new IllegalArgumentException(kind + " must not be empty");
        }
        if (path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(kind + " must not contain a NUL character: " + path.replace('\0', '@'));
        }
        int bytes = path.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_PATH_BYTES) {
            throw new IllegalArgumentException(kind + " " + (isAbstract ? "@" : "") + path + " is " + bytes
                    + " bytes long, more than the " + MAX_PATH_BYTES + " bytes that sun_path holds on "
                    + System.getProperty("os.name") + " (" + (MAX_PATH_BYTES + 1)
                    + (isAbstract ? " with the leading NUL)" : " with the terminating NUL); use a shorter socket directory or file name"));
        }
    }

    /** Creates the address of the socket file at {@code path}. */
    public Address(String path) {
        this(path, false);
    }

    /** Returns the address of the socket file at {@code path}, as given (not made absolute). */
    public static Address of(Path path) {
        return new Address(Objects.requireNonNull(path, "path").toString(), false);
    }

    /** Returns the address of the socket file at {@code path}. */
    public static Address of(String path) {
        return new Address(path, false);
    }

    /**
     * Returns a Linux abstract-namespace address: no file is created, the name vanishes with its
     * listener, and file permissions do not apply (peer credentials still do). Only the EPOLL,
     * IO_URING and LOCAL modes can use it.
     */
    public static Address abstractName(String name) {
        return new Address(name, true);
    }

    /**
     * Returns this address as a file system path.
     *
     * @throws UnsupportedOperationException for an abstract-namespace address, which has no file
     */
    public Path toPath() {
        if (isAbstract) {
            throw new UnsupportedOperationException("abstract socket name " + this + " has no file path");
        }
        return Path.of(path);
    }

    @Override
    public String toString() {
        return isAbstract ? "@" + path : path;
    }

    private static int sunPathBytes() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        return os.contains("mac") || os.contains("bsd") || os.contains("darwin") ? SUN_PATH_BSD : SUN_PATH_LINUX;
    }
}
