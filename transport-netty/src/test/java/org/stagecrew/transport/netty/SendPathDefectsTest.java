package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.IllegalReferenceCountException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.test.LeakDetection;

/** Defects of the send path found in review, each pinned by the test that showed it. */
@Timeout(value = 60, unit = SECONDS)
class SendPathDefectsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Above every append limit: the copying send makes a pooled copy and queues it. */
    private static final int QUEUED = 40 * 1024;

    @TempDir
    Path dir;

    @Test
    void aCopyingSendOrOfferFromAReleasedSourceThrowsAndLeaksNoCopy() {
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            LeakDetection.drainLeaks(); // only what this test leaks counts
            for (int i = 0; i < 4; i++) {
                ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer(QUEUED).writeZero(QUEUED);
                source.release();
                assertThrows(IllegalReferenceCountException.class,
                        () -> sender.send(receiver.address(), source, 0, QUEUED, WAIT));
                assertThrows(IllegalReferenceCountException.class,
                        () -> sender.offer(receiver.address(), source, 0, QUEUED));
            }
            List<LeakDetection.Leak> leaks = LeakDetection.drainLeaks();
            assertEquals(List.of(), leaks, "the copy made for a send whose source could not be read was not released");
        }
    }

    @Test
    void sealingASegmentWhoseProducerStaysInsideAWriteGivesUpInsteadOfSpinning() {
        ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer(64, 64);
        Segment segment = new Segment(chunk);
        try {
            assertTrue(segment.claim(), "claim a fresh segment");
            // The producer holds its claim (descheduled, stopped in a debugger, or dead): the event loop must not wait for it.
            long state = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> segment.sealNow(),
                    "sealNow() spins while the producer is inside a write");
            assertEquals(Segment.BUSY, state, "a segment whose producer is writing cannot be sealed yet");
            assertEquals(0, segment.state() & Segment.SEALED, "sealed under a producer that is still writing");

            segment.abort();
            long sealed = segment.sealNow();
            assertNotEquals(Segment.BUSY, sealed, "once the producer left its write, the segment seals");
            assertTrue((segment.state() & Segment.SEALED) != 0);
        } finally {
            chunk.release();
        }
    }
}
