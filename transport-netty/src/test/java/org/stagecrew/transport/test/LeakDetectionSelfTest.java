package org.stagecrew.transport.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.opentest4j.AssertionFailedError;

/** Proves that the leak harness sees a leaked buffer, so that a quiet suite means something. */
@Timeout(60)
class LeakDetectionSelfTest {

    @Test
    void buffersAreTrackedByTheRecordingDetectorAtParanoidLevel() {
        PooledByteBufAllocator.DEFAULT.directBuffer(8).release();

        assertTrue(LeakDetection.isTrackingBuffers(), "LeakDetectionSessionListener did not install the factory in time");
        assertEquals(io.netty.util.ResourceLeakDetector.Level.PARANOID, io.netty.util.ResourceLeakDetector.getLevel());
    }

    @Test
    void aLeakedBufferIsReportedWithItsAccessRecords() {
        String hint = LeakDetection.INTENTIONAL_LEAK_HINT + UUID.randomUUID();
        leakOneBuffer(hint);

        List<LeakDetection.Leak> leaks = drainUntilReported(hint);

        assertTrue(leaks.stream().anyMatch(l -> l.resourceType().equals("ByteBuf") && l.records().contains(hint)),
                () -> "the leaked buffer was not reported; reports: " + leaks);
    }

    @Test
    void assertNoLeaksFailsWithTheLeakRecordsAndClearsThem() {
        String hint = LeakDetection.INTENTIONAL_LEAK_HINT + UUID.randomUUID();
        leakOneBuffer(hint);

        AssertionFailedError failure = assertFailsWithin10Attempts();

        assertTrue(failure.getMessage().contains(hint), () -> "failure does not name the leak: " + failure.getMessage());
        assertTrue(failure.getMessage().contains("resource leak"), failure::getMessage);
        LeakDetection.assertNoLeaks(); // drained: the extension will not fail this test
    }

    @Test
    void aReleasedBufferIsNotReported() {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        buf.writeLong(7).release();

        LeakDetection.assertNoLeaks();
    }

    private static void leakOneBuffer(String hint) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        buf.touch(hint); // makes the records, and so Netty's de-duplication key, unique
        buf.writeInt(42);
        // no release(): the buffer becomes garbage when this method returns
    }

    /** Garbage collection is not deterministic: retry a bounded number of times. */
    private static List<LeakDetection.Leak> drainUntilReported(String hint) {
        List<LeakDetection.Leak> all = new ArrayList<>();
        for (int attempt = 0; attempt < 10; attempt++) {
            all.addAll(LeakDetection.drainLeaks());
            if (all.stream().anyMatch(l -> l.records().contains(hint))) {
                break;
            }
        }
        return all;
    }

    private static AssertionFailedError assertFailsWithin10Attempts() {
        for (int attempt = 0; attempt < 9; attempt++) {
            try {
                LeakDetection.assertNoLeaks();
            } catch (AssertionFailedError e) {
                return e;
            }
        }
        return assertThrows(AssertionFailedError.class, LeakDetection::assertNoLeaks);
    }
}
