package org.stagecrew.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.stagecrew.transport.IoMode;

/**
 * Configures a {@link Stage} opened outside {@link StageExtension}; made with
 * {@link Stage#builder(String)}. Not thread-safe; every option has a default.
 */
public final class StageBuilder {

    /** System property that overrides the default {@link #socketRoot(Path)}: {@value}. */
    public static final String SOCKET_ROOT_PROPERTY = "stagecrew.test.socketRoot";

    /** System property that overrides the default {@link #logRoot(Path)}: {@value}. */
    public static final String LOG_ROOT_PROPERTY = "stagecrew.test.logRoot";

    final String name;
    IoMode ioMode = IoMode.AUTO;
    Duration stopTimeout = Stage.DEFAULT_STOP_TIMEOUT;
    Path socketRoot = defaultSocketRoot();
    Path logDirectory;

    StageBuilder(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("stage name must be a plain file name without '/', was: '" + name + "'");
        }
        this.name = name;
        this.logDirectory = defaultLogRoot().resolve(name);
    }

    /** Sets the default I/O mode of the stage's transports and units. Default {@link IoMode#AUTO}. */
    public StageBuilder ioMode(IoMode ioMode) {
        this.ioMode = Objects.requireNonNull(ioMode, "ioMode");
        return this;
    }

    /** Sets how long each unit has to stop gracefully when the stage closes; positive. Default 5 s. */
    public StageBuilder stopTimeout(Duration stopTimeout) {
        if (stopTimeout.isNegative() || stopTimeout.isZero()) {
            throw new IllegalArgumentException("stopTimeout must be positive, was: " + stopTimeout);
        }
        this.stopTimeout = stopTimeout;
        return this;
    }

    /**
     * Sets the directory in which the stage creates its private socket directory. Default: the
     * {@value #SOCKET_ROOT_PROPERTY} system property, else {@code /tmp} where it is a writable
     * directory (short paths fit {@code sun_path}), else {@code java.io.tmpdir}.
     */
    public StageBuilder socketRoot(Path socketRoot) {
        this.socketRoot = Objects.requireNonNull(socketRoot, "socketRoot");
        return this;
    }

    /**
     * Sets the root under which the stage's log directory ({@code <logRoot>/<name>}) is created,
     * emptied first if it exists. Default: the {@value #LOG_ROOT_PROPERTY} system property, else
     * {@code target/stagecrew-logs} when the working directory has a {@code target} directory (a
     * Maven build), else {@code <java.io.tmpdir>/stagecrew-logs}.
     */
    public StageBuilder logRoot(Path logRoot) {
        this.logDirectory = Objects.requireNonNull(logRoot, "logRoot").resolve(name);
        return this;
    }

    /**
     * Creates the socket and log directories and returns the open stage.
     *
     * @throws IllegalStateException if the socket directory's path is too long for socket names to fit {@code sun_path}
     * @throws java.io.UncheckedIOException if a directory cannot be created
     */
    public Stage open() {
        return new Stage(this);
    }

    static Path defaultSocketRoot() {
        String configured = System.getProperty(SOCKET_ROOT_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path tmp = Path.of("/tmp");
        return Files.isDirectory(tmp) && Files.isWritable(tmp) ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
    }

    static Path defaultLogRoot() {
        String configured = System.getProperty(LOG_ROOT_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path target = Path.of(System.getProperty("user.dir"), "target");
        return Files.isDirectory(target) ? target.resolve("stagecrew-logs")
                : Path.of(System.getProperty("java.io.tmpdir"), "stagecrew-logs");
    }
}
