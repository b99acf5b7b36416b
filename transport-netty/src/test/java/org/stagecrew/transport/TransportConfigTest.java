package org.stagecrew.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.EventLoopGroup;
import io.netty.util.internal.PlatformDependent;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TransportConfigTest {

    @Test
    void theDefaultInboxBytesFitTheJvmsDirectMemory() {
        long mib = 1024 * 1024;
        assertEquals(64 * mib, ConfigDefaults.inboxCapacityBytes(1024 * mib), "1 GiB of direct memory: the 64 MiB default");
        assertEquals(64 * mib, ConfigDefaults.inboxCapacityBytes(256 * mib), "256 MiB: a quarter is the default");
        assertEquals(16 * mib, ConfigDefaults.inboxCapacityBytes(64 * mib), "-Xmx64m: a quarter of its 64 MiB");
        assertEquals(mib, ConfigDefaults.inboxCapacityBytes(2 * mib), "never less than 1 MiB");
        assertEquals(64 * mib, ConfigDefaults.inboxCapacityBytes(-1), "no known limit");
        assertEquals(ConfigDefaults.inboxCapacityBytes(PlatformDependent.maxDirectMemory()), TransportConfig.defaultInboxCapacityBytes());
    }

    @Test
    void aNegativeMaxFrameLengthIsRefusedWithTheRangeAndTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TransportConfig.builder().maxFrameLength(-1).build());

        assertEquals(2147483639, TransportConfig.MAX_FRAME_LENGTH_LIMIT);
        assertEquals("maxFrameLength must be between 0 and 2147483639, was: -1", e.getMessage());
    }

    @Test
    void maxFrameLengthAcceptsItsWholeRangeAndNothingBeyond() {
        assertEquals(0, TransportConfig.builder().maxFrameLength(0).build().maxFrameLength());
        assertEquals(TransportConfig.MAX_FRAME_LENGTH_LIMIT,
                TransportConfig.builder().maxFrameLength(TransportConfig.MAX_FRAME_LENGTH_LIMIT).build().maxFrameLength());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TransportConfig.builder().maxFrameLength(Integer.MAX_VALUE).build());
        assertEquals("maxFrameLength must be between 0 and 2147483639, was: 2147483647", e.getMessage());
    }

    @Test
    void aZeroLowWaterMarkIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TransportConfig.builder().writeBufferWaterMark(0, 1024).build());

        assertTrue(e.getMessage().contains("writeBufferWaterMark"), e::getMessage);
        assertTrue(e.getMessage().contains("low=0"), e::getMessage);
    }

    @Test
    void aLowWaterMarkAboveTheHighOneIsRefusedWithBothValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TransportConfig.builder().writeBufferWaterMark(2048, 1024).build());

        assertTrue(e.getMessage().contains("writeBufferWaterMark"), e::getMessage);
        assertTrue(e.getMessage().contains("low=2048, high=1024"), e::getMessage);
    }

    @Test
    void otherInvalidValuesAreRefusedByName() {
        assertRefused("inboxCapacity frames", TransportConfig.builder().inboxCapacity(0, 1));
        assertRefused("inboxCapacity bytes", TransportConfig.builder().inboxCapacity(1, -1));
        assertRefused("connectTimeout", TransportConfig.builder().connectTimeout(Duration.ZERO));
        assertRefused("helloTimeout", TransportConfig.builder().helloTimeout(Duration.ofSeconds(-1)));
        assertRefused("ioThreads", TransportConfig.builder().ioThreads(-1));
        assertRefused("ioThreads", TransportConfig.builder().ioThreads(65));
        assertRefused("fileName", TransportConfig.builder().fileName("a/b.sock"));
        assertRefused("fileName", TransportConfig.builder().fileName(".."));
        assertRefused("fileNamePrefix", TransportConfig.builder().fileNamePrefix("x/"));

        NullPointerException e = assertThrows(NullPointerException.class,
                () -> TransportConfig.builder().ioMode(null).build());
        assertEquals("ioMode", e.getMessage());
    }

    @Test
    void anEventLoopGroupExcludesPrivateGroupsByName() {
        EventLoopGroup group = new DefaultEventLoopGroup(1);
        try {
            assertRefused("eventLoopGroup excludes ioThreads", TransportConfig.builder().eventLoopGroup(group).ioThreads(2));
            assertRefused("eventLoopGroup excludes busyPoll", TransportConfig.builder().eventLoopGroup(group).busyPoll(true));
            assertEquals(group, TransportConfig.builder().eventLoopGroup(group).build().toBuilder().build().eventLoopGroup());
            assertEquals(0, TransportConfig.builder().ioThreads(0).build().ioThreads(), "0: the shared group");
        } finally {
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void defaultsAreThePublishedConstants() {
        TransportConfig config = TransportConfig.defaults();

        assertEquals(TransportConfig.defaultSocketDirectory(), config.socketDirectory());
        assertNull(config.fileName());
        assertEquals(TransportConfig.DEFAULT_FILE_NAME_PREFIX, config.fileNamePrefix());
        assertEquals(IoMode.AUTO, config.ioMode());
        assertEquals(TransportConfig.DEFAULT_MAX_FRAME_LENGTH, config.maxFrameLength());
        assertEquals(TransportConfig.DEFAULT_WRITE_BUFFER_LOW_WATER_MARK, config.writeBufferLowWaterMark());
        assertEquals(TransportConfig.DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK, config.writeBufferHighWaterMark());
        assertEquals(TransportConfig.DEFAULT_INBOX_CAPACITY_FRAMES, config.inboxCapacityFrames());
        assertEquals(TransportConfig.DEFAULT_INBOX_CAPACITY_BYTES, config.inboxCapacityBytes());
        assertEquals(TransportConfig.DEFAULT_CONNECT_TIMEOUT, config.connectTimeout());
        assertEquals(TransportConfig.DEFAULT_HELLO_TIMEOUT, config.helloTimeout());
        assertEquals(TransportConfig.DEFAULT_IO_THREADS, config.ioThreads());
        assertNull(config.eventLoopGroup());
        assertEquals(TransportConfig.DEFAULT_UNDELIVERABLE_HANDLER, config.undeliverableHandler());
    }

    @Test
    void toBuilderKeepsEveryValue() {
        TransportConfig original = TransportConfig.builder()
                .socketDirectory(Path.of("/tmp/sc")).fileName("x.sock").ioMode(IoMode.NIO).maxFrameLength(99)
                .writeBufferWaterMark(10, 20).inboxCapacity(3, 4).connectTimeout(Duration.ofSeconds(1))
                .helloTimeout(Duration.ofSeconds(2)).ioThreads(2).build();

        TransportConfig copy = original.toBuilder().build();

        assertEquals(original.toString(), copy.toString());
        assertEquals(Path.of("/tmp/sc"), copy.socketDirectory());
        assertEquals(IoMode.NIO, copy.ioMode());
    }

    private static void assertRefused(String name, TransportConfig.Builder builder) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build, name);
        assertTrue(e.getMessage().startsWith(name), () -> "message should start with '" + name + "': " + e.getMessage());
    }
}
