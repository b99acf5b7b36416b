package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;

/** Which I/O modes run here, why the others do not, and what AUTO picks. */
class IoModeTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = IoMode.class, names = {"AUTO", "NIO", "LOCAL"})
    void aPortableModeIsAvailableEverywhere(IoMode mode) {
        assertTrue(mode.isAvailable(), () -> mode + " unavailable: " + mode.unavailabilityCause());
        assertNull(mode.unavailabilityCause());
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void aModeIsAvailableExactlyWhenItHasNoCauseAndACauseSaysWhy(IoMode mode) {
        Throwable cause = mode.unavailabilityCause();

        assertEquals(cause == null, mode.isAvailable());
        if (cause != null) {
            assertNotNull(IoBackend.describe(cause), () -> mode + " is unavailable without a reason: " + cause);
        }
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void everyModeButLocalUsesSocketFiles(IoMode mode) {
        assertEquals(mode != IoMode.LOCAL, mode.usesSocketFiles());
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void onLinuxKqueueIsUnavailableBecauseItExistsOnlyOnMacOsAndTheBsds() {
        Throwable cause = IoMode.KQUEUE.unavailabilityCause();

        assertFalse(IoMode.KQUEUE.isAvailable());
        assertNotNull(cause);
        assertTrue(cause.getMessage().contains("macOS") && cause.getMessage().contains("BSD"), cause::getMessage);
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void onLinuxOpeningAKqueueTransportFailsAtOnceNamingTheModeAndTheReason() throws IOException {
        TransportConfig config = TransportConfig.builder().socketDirectory(dir.resolve("sockets")).ioMode(IoMode.KQUEUE).build();

        TransportException e = assertThrows(TransportException.class, () -> Transport.open(config).close());

        assertSame(TransportException.class, e.getClass(), "an unavailable mode is no specific transport failure");
        assertTrue(e.getMessage().contains("IoMode.KQUEUE"), e::getMessage);
        assertTrue(e.getMessage().contains("kqueue exists only on macOS and the BSDs"), e::getMessage);
        assertSame(IoMode.KQUEUE.unavailabilityCause(), e.getCause(), "the probe's reason is chained");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing may be created before the mode is checked");
        }
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void onLinuxTheDropInHelperRefusesKqueueWithTheSameReason() {
        TransportException e = assertThrows(TransportException.class, () -> DomainSockets.of(IoMode.KQUEUE));

        assertTrue(e.getMessage().contains("IoMode.KQUEUE"), e::getMessage);
        assertTrue(e.getMessage().contains("macOS"), e::getMessage);
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void onLinuxAutoResolvesToEpollWhenEpollIsAvailable() {
        Assumptions.assumeTrue(IoMode.EPOLL.isAvailable(), () -> "epoll is not available: " + IoMode.EPOLL.unavailabilityCause());

        assertEquals(IoMode.EPOLL, DomainSockets.of(IoMode.AUTO).mode());
    }

    @Test
    @EnabledOnOs(OS.MAC)
    void onMacOsAutoResolvesToKqueueWhenKqueueIsAvailable() {
        Assumptions.assumeTrue(IoMode.KQUEUE.isAvailable(), () -> "kqueue is not available: " + IoMode.KQUEUE.unavailabilityCause());

        assertEquals(IoMode.KQUEUE, DomainSockets.of(IoMode.AUTO).mode());
    }

    @Test
    void autoResolvesToAConcreteAvailableSocketMode() {
        IoMode resolved = DomainSockets.of(IoMode.AUTO).mode();

        assertTrue(resolved != IoMode.AUTO && resolved != IoMode.LOCAL, () -> "AUTO resolved to " + resolved);
        assertTrue(resolved.isAvailable(), () -> resolved + ": " + resolved.unavailabilityCause());
    }
}
