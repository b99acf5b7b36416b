package org.stagecrew.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Aeron IPC baseline delivers every frame intact and in order (fragmented ones too), leaves a
 * copied buffer with its caller, fails sends after close, and its driver's directory is removed.
 */
@Timeout(60)
class AeronEndpointTest {
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path dir;
    private AeronDriver driver;

    @BeforeEach
    void launchDriver() {
        driver = AeronDriver.launch(dir);
    }

    @AfterEach
    void closeDriver() {
        driver.close();
    }

    @Test
    void framesOfEverySizeArriveIntactAndInOrderThroughReusedViews() throws Exception {
        int rounds = 50;
        int[] sizes = {0, 8, 64, 1024, 4096, 65536, 1024 * 1024};
        byte[] large = new byte[1024 * 1024 + rounds]; // frame s of round r: large[r, r + s)
        new Random(42).nextBytes(large);
        ByteBuf reused = PooledByteBufAllocator.DEFAULT.directBuffer(1024 * 1024);
        try (Endpoint sender = open(); Endpoint receiver = open()) {
            List<byte[]> received = new ArrayList<>();
            for (int round = 0; round < rounds; round++) {
                for (int size : sizes) {
                    reused.clear().writeBytes(large, round, size);
                    sender.sendCopy(receiver.address(), reused);
                    assertEquals(1, reused.refCnt(), "sendCopy must leave the buffer with the caller");
                    receiveAll(receiver, received.size() + 1, received);
                }
            }
            sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(7).writerIndex(64));
            receiveAll(receiver, rounds * sizes.length + 1, received);

            for (int round = 0; round < rounds; round++) {
                for (int s = 0; s < sizes.length; s++) {
                    byte[] expected = Arrays.copyOfRange(large, round, round + sizes[s]);
                    assertArrayEquals(expected, received.get(round * sizes.length + s), "frame of " + sizes[s] + " B in round " + round);
                }
            }
            assertEquals(64, received.get(received.size() - 1).length, "the owned frame behind them");
        } finally {
            reused.release();
        }
    }

    @Test
    void aSendAfterCloseFailsAndReleasesItsPayloadAndTheDriverDirectoryIsRemoved() throws Exception {
        Endpoint receiver = open();
        Endpoint sender = open();
        sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(1));
        sender.close();
        receiver.close();
        receiver.close(); // idempotent

        ByteBuf late = PooledByteBufAllocator.DEFAULT.directBuffer(8).writeLong(2);
        assertThrows(IOException.class, () -> sender.send(receiver.address(), late));
        assertEquals(0, late.refCnt(), "a failed send releases its payload");

        Path directory = driver.directory();
        assertTrue(Files.isDirectory(directory), "the driver's directory while it runs");
        driver.close();
        assertFalse(Files.exists(directory), "the driver's directory after close: " + directory);
    }

    @Test
    void anEndpointWithoutADriverDirectoryNamesTheMissingOption() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> AeronEndpoint.open(null));
        assertTrue(e.getMessage().contains("-Daeron.dir"), e.getMessage());
    }

    private Endpoint open() {
        return AeronEndpoint.open(driver.directory().toString());
    }

    private static void receiveAll(Endpoint receiver, int count, List<byte[]> into) throws Exception {
        long deadline = System.nanoTime() + WAIT_NANOS;
        while (into.size() < count) {
            if (System.nanoTime() - deadline > 0) {
                fail("received " + into.size() + " of " + count + " frames within 20 s");
            }
            receiver.poll(payload -> into.add(ByteBufUtil.getBytes(payload)), count - into.size(), TimeUnit.MILLISECONDS.toNanos(100));
        }
    }
}
