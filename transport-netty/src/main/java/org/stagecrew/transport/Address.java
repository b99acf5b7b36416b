package org.stagecrew.transport;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * The address of a transport: the path of its Unix Domain Socket file.
 *
 * <p>An immutable value; two addresses are equal when their paths are equal as strings. Creating
 * one checks that the path fits into {@code sun_path} (see
 * <a href="https://man7.org/linux/man-pages/man7/unix.7.html">unix(7)</a>): at most
 * {@link #MAX_PATH_BYTES} bytes of UTF-8 on this platform, the terminating NUL not counted.
 *
 * @param path the socket file's path, never empty
 */
public record Address(String path) {

    /** Bytes of {@code sun_path} on Linux, including the terminating NUL. */
    public static final int SUN_PATH_LINUX = 108;

    /** Bytes of {@code sun_path} on macOS and the BSDs, including the terminating NUL. */
    public static final int SUN_PATH_BSD = 104;

    /** The longest path, in UTF-8 bytes, that this platform accepts for a socket file. */
    public static final int MAX_PATH_BYTES = sunPathBytes() - 1;

    /**
     * Creates an address after checking the path.
     *
     * @throws NullPointerException if {@code path} is null
     * @throws IllegalArgumentException if the path is empty, contains a NUL byte, or is longer than
     *     {@link #MAX_PATH_BYTES} bytes; the message names the path, its length and the limit
     */
    public Address {
        Objects.requireNonNull(path, "path");
        if (path.isEmpty()) {
            throw new IllegalArgumentException("socket path must not be empty");
        }
        if (path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("socket path must not contain a NUL character: " + path.replace('\0', '@'));
        }
        int bytes = path.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_PATH_BYTES) {
            throw new IllegalArgumentException("socket path " + path + " is " + bytes
                    + " bytes long, more than the " + MAX_PATH_BYTES + " bytes that sun_path holds on "
                    + System.getProperty("os.name") + " (" + (MAX_PATH_BYTES + 1)
                    + " with the terminating NUL); use a shorter socket directory or file name");
        }
    }

    /** Returns the address of the socket file at {@code path}, as given (not made absolute). */
    public static Address of(Path path) {
        return new Address(Objects.requireNonNull(path, "path").toString());
    }

    /** Returns the address of the socket file at {@code path}. */
    public static Address of(String path) {
        return new Address(path);
    }

    /** Returns this address as a file system path. */
    public Path toPath() {
        return Path.of(path);
    }

    @Override
    public String toString() {
        return path;
    }

    private static int sunPathBytes() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        return os.contains("mac") || os.contains("bsd") || os.contains("darwin") ? SUN_PATH_BSD : SUN_PATH_LINUX;
    }
}
