package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.internal.PlatformDependent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * Frames arrive whole where Netty cannot read memory by address: Netty turns {@code sun.misc.Unsafe}
 * off on Java 25 and later, and {@code -Dio.netty.noUnsafe=true} does on any JDK, while direct
 * buffers still report a memory address. Before the decoder checked for that, every frame was
 * dropped with a NullPointerException on the event loop and {@code receive} returned null.
 *
 * <p>Runs where Unsafe is meant to be off: in the Surefire execution {@code no-unsafe} on JDK 17 (see
 * this module's pom), which also runs the transport contract suites and the decoder tests with Unsafe
 * off, and in the default execution on Java 25 and later, where all of them run without Unsafe anyway
 * (so the pom skips {@code no-unsafe} there). Either way its first test fails if Unsafe is in fact on.
 */
@EnabledIf(value = "unsafeIsMeantToBeOff", disabledReason = "Netty has Unsafe here: runs with -Dio.netty.noUnsafe=true"
        + " (Surefire execution no-unsafe) or on Java 25+")
class NoUnsafeTest {

    private static final int[] SIZES = {0, 1, 64, 1024, 64 * 1024, 1024 * 1024 + 3};

    @TempDir
    Path dir;

    /** Netty is told to run without Unsafe, or runs on Java 25+, where that is its default. */
    static boolean unsafeIsMeantToBeOff() {
        return Boolean.getBoolean("io.netty.noUnsafe") || Runtime.version().feature() >= 25;
    }

    @Test
    void nettyReallyRunsWithoutUnsafeHereWhileDirectBuffersStillHaveAddresses() {
        assertFalse(PlatformDependent.hasUnsafe(), "this execution exists to run without Unsafe");
        ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        try {
            // JDK 17 with Unsafe off gives direct buffers no address, so the old code took its safe path
            // there anyway; JDK 25 gives them one, and that is where the old code read through a null Unsafe.
            Assumptions.assumeTrue(buffer.hasMemoryAddress(),
                    "direct buffers have no memory address without Unsafe on this JDK; the condition arises on Java 25+");
            assertEquals(0, Protocol.addressOf(buffer), "no reads by address without Unsafe");
        } finally {
            buffer.release();
        }
    }

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "NIO", "LOCAL"})
    void framesOfEverySizeArriveWholeWithoutUnsafe(IoMode mode) {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " unavailable: " + mode.unavailabilityCause());
        TransportConfig config = TransportConfig.builder().socketDirectory(dir).ioMode(mode).build();
        try (Transport sender = Transport.open(config); Transport receiver = Transport.open(config)) {
            for (int size : SIZES) {
                byte[] bytes = new byte[size];
                Arrays.fill(bytes, (byte) size);
                ByteBuf payload = PooledByteBufAllocator.DEFAULT.directBuffer(size).writeBytes(bytes);
                sender.send(receiver.address(), payload, Duration.ofSeconds(10));
            }
            for (int size : SIZES) {
                try (Frame frame = receiver.receive(Duration.ofSeconds(10))) {
                    assertNotNull(frame, () -> "a frame of " + size + " bytes arrived in " + mode);
                    assertEquals(sender.address(), frame.sender());
                    byte[] expected = new byte[size];
                    Arrays.fill(expected, (byte) size);
                    // One bulk copy: PARANOID leak detection records every single-byte access.
                    assertArrayEquals(expected, ByteBufUtil.getBytes(frame.payload()), () -> "the " + size + "-byte frame in " + mode);
                }
            }
            assertTrue(receiver.isOpen());
        }
    }
}
