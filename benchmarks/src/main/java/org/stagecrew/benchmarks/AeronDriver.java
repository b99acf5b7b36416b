package org.stagecrew.benchmarks;

import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.agrona.concurrent.BackoffIdleStrategy;

/**
 * An embedded Aeron media driver for the Aeron IPC baseline, in a directory of its own that
 * {@link #close()} removes (log buffers included), also when the run failed. The directory is
 * under {@code /dev/shm} where it exists, as Aeron's own default is: log buffers on a disk-backed
 * file system would be written back to the disk.
 *
 * <p>For {@code aeron:ipc} the driver only manages publications and moves publisher limits; the
 * data goes from the publishing JVM's log buffer straight to the subscribing JVM. One shared
 * driver thread with Aeron's backoff idle strategy: it spins while there is work and parks up to
 * 1 ms when there is none, so it takes a core from the measured JVMs only while it has work.
 *
 * <p>Needs {@code --add-opens java.base/jdk.internal.misc=ALL-UNNAMED} (Agrona's {@code UnsafeApi}),
 * as every JVM that uses Aeron does; the benchmark jar's manifest adds it for {@code java -jar}.
 */
final class AeronDriver implements AutoCloseable {
    /**
     * Term length of IPC publications: 16 MiB (Aeron's default 64 MiB) makes a log of 48 MiB instead of 192 MiB, so
     * a publication that a measurement opens reaches its steady rate within the 1 s warm-up (with 192 MiB logs,
     * 1 KiB frames ran at 0.1-0.25 M msgs/s after 1 s and 8 M after 3 s); it still carries messages up to 2 MiB
     * (a term / 8) and lets a publisher run 8 MiB ahead of its subscriber.
     */
    static final int IPC_TERM_LENGTH = 16 * 1024 * 1024;
    private final Path directory;
    private final MediaDriver driver;
    private final AtomicBoolean closed = new AtomicBoolean();

    private AeronDriver(Path directory, MediaDriver driver) {
        this.directory = directory;
        this.driver = driver;
    }

    /**
     * Launches a driver in a new directory under {@code /dev/shm}, or else under {@code fallbackParent}.
     *
     * @throws UncheckedIOException if the directory cannot be created; the driver's own exception if it does not start
     */
    static AeronDriver launch(Path fallbackParent) {
        Path shm = Path.of("/dev/shm");
        Path directory;
        try {
            directory = Files.createTempDirectory(Files.isDirectory(shm) && Files.isWritable(shm) ? shm : fallbackParent, "scb-aeron-");
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("create failed for the Aeron directory under /dev/shm or "
                    + fallbackParent + ": " + e.getMessage(), e));
        }
        try {
            MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context()
                    .aeronDirectoryName(directory.toString())
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true)
                    .ipcTermBufferLength(IPC_TERM_LENGTH)
                    .threadingMode(ThreadingMode.SHARED)
                    .sharedIdleStrategy(new BackoffIdleStrategy()));
            return new AeronDriver(directory, driver);
        } catch (RuntimeException | Error e) {
            delete(directory);
            throw e;
        }
    }

    /** The directory clients connect to: pass it as {@code -Daeron.dir}. */
    Path directory() {
        return directory;
    }

    /** Stops the driver and removes its directory; idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            driver.close();
        } finally {
            delete(directory);
        }
    }

    static void delete(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("delete failed for the Aeron directory " + directory + ": " + e.getMessage(), e));
        }
    }
}
