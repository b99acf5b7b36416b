package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/**
 * What every part of the transport contract shares: the I/O mode under test, a temporary socket
 * directory, and the helpers that open transports, make payloads, receive with a timeout and assert
 * failures. The contract is split by concern into a chain of abstract classes, each adding its
 * {@code @Nested} scenarios ({@link DeliveryContract}, {@link AddressingContract}, {@link
 * LifecycleContract}, {@link BackPressureContract}, {@link SegmentPathContract}); {@link
 * TransportContractTest}, the last link, is what the per-mode subclasses extend, so each of them
 * runs all of it. Every wait has a timeout; every owned frame is closed, and {@code
 * LeakDetectionExtension} fails a test whose buffers leak.
 *
 * <p>A mode that cannot run on this machine is skipped test by test with its
 * {@link IoMode#unavailabilityCause()} as the reason. Tests about socket files on disk (stale files,
 * unlinking, permissions) are skipped for {@link IoMode#LOCAL}, which binds none.
 */
@Timeout(value = 60, unit = SECONDS)
abstract class ContractSupport {


    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** The I/O mode under test. */
    protected abstract IoMode mode();

    @BeforeEach
    void requireAvailableMode() {
        assumeAvailable(mode());
    }

    /**
     * Skips the calling test if {@code mode} cannot run here, with the reason. Deliberately per test
     * and not in a {@code @BeforeAll}: Surefire reports an aborted class as "Tests run: 0", that is,
     * silently, while skipped tests are counted.
     */
    static void assumeAvailable(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available on "
                + System.getProperty("os.name") + ": " + mode.unavailabilityCause());
    }

    /** Skips a test about socket files on disk for a mode that binds none (LOCAL). */
    void assumeSocketFiles(String subject) {
        Assumptions.assumeTrue(mode().usesSocketFiles(), () -> "IoMode." + mode()
                + " binds no socket file (in-JVM channels), so there are no " + subject + " to test");
    }

    TransportConfig.Builder config() {
        return TransportConfig.builder().socketDirectory(dir).ioMode(mode());
    }

    Transport open() {
        return Transport.open(config().build());
    }

    Transport open(TransportConfig.Builder config) {
        return Transport.open(config.build());
    }

    static ByteBuf utf8(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    static ByteBuf direct(byte[] bytes) {
        return ByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
    }

    /** Returns the next owned frame of {@code transport}, failing if none arrives within {@link #WAIT}. */
    static Frame receive(Transport transport) {
        Frame frame = transport.receive(WAIT);
        assertNotNull(frame, () -> "no frame arrived at " + transport.address() + " within " + WAIT);
        return frame;
    }

    /** Asserts that {@code future} fails, within {@link #WAIT}, with an exception of {@code type}. */
    static <T extends Throwable> T assertFailsWith(Class<T> type, CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(WAIT.toSeconds(), SECONDS),
                () -> "expected the future to fail with " + type.getSimpleName() + " within " + WAIT);
        return assertInstanceOf(type, e.getCause());
    }

    static void assertMentions(Throwable e, String... parts) {
        for (String part : parts) {
            assertTrue(String.valueOf(e.getMessage()).contains(part),
                    () -> "message should mention '" + part + "': " + e.getMessage());
        }
    }


    /** One call of an {@link org.stagecrew.transport.UndeliverableHandler}. */
    record Undelivered(Address destination, int frames, TransportException cause) {
    }
}
