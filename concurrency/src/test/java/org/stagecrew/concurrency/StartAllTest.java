package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/** {@link Concurrency#startAll}: all ready, or none left running and every reason reported. */
@Timeout(value = 30, unit = SECONDS)
class StartAllTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    UnitBuilder unit(String fileName) {
        return Concurrency.thread(ctx -> ctx.awaitStop(Duration.ofMinutes(1)))
                .transportConfig(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).fileName(fileName).build());
    }

    @Test
    void startAllReturnsEveryUnitReadyInTheOrderGiven() {
        List<Concurrency> units = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            units.add(unit("u" + i + ".sock").name("u" + i).build());
        }
        List<Concurrency> started = Concurrency.startAll(units);
        try {
            assertEquals(units, started);
            for (int i = 0; i < 8; i++) {
                assertTrue(started.get(i).isAlive());
                assertEquals(dir.resolve("u" + i + ".sock").toString(), started.get(i).address().path());
            }
        } finally {
            started.forEach(Concurrency::close);
        }
    }

    @Test
    void whenSomeCannotStartEveryReasonIsReportedAndTheOthersAreStoppedAgain() {
        try (Transport holder1 = Transport.open(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).fileName("taken1.sock").build());
             Transport holder2 = Transport.open(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).fileName("taken2.sock").build())) {
            Concurrency good = unit("free.sock").name("good").build();
            Concurrency bad1 = unit("taken1.sock").name("bad1").build();
            Concurrency bad2 = unit("taken2.sock").name("bad2").build();

            UnitException e = assertThrows(UnitException.class, () -> Concurrency.startAll(List.of(bad1, good, bad2)));

            assertTrue(e.getMessage().contains("2 of 3 units failed to start"), e.getMessage());
            assertTrue(e.getMessage().contains("bad1") && e.getMessage().contains("bad2"), e.getMessage());
            assertEquals(2, e.getSuppressed().length);
            assertSame(e.getSuppressed()[0], e.getCause());
            for (Throwable reason : e.getSuppressed()) {
                assertInstanceOf(AddressInUseException.class, reason.getCause(), reason.toString());
            }
            assertTrue(good.join(WAIT), "the unit that started was stopped again");
            assertFalse(good.isAlive());
        }
    }

    @Test
    void unitsStartInParallel() throws Exception {
        // Each unit's start blocks until all of them are starting: a one-by-one start would never finish.
        int n = 4;
        CountDownLatch allStarting = new CountDownLatch(n);
        List<Concurrency> units = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            units.add(new BlockingStartUnit(unit("p" + i + ".sock").build(), allStarting));
        }
        List<Concurrency> started = Concurrency.startAll(units);
        started.forEach(Concurrency::close);
    }

    /** A unit whose start waits until {@code latch} has been counted down by every start. */
    static final class BlockingStartUnit extends ForwardingUnit {
        private final CountDownLatch latch;

        BlockingStartUnit(Concurrency unit, CountDownLatch latch) {
            super(unit);
            this.latch = latch;
        }

        @Override
        public Concurrency start() {
            latch.countDown();
            try {
                if (!latch.await(WAIT.toSeconds(), SECONDS)) {
                    throw new UnitException("the other starts did not run at the same time");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UnitException("interrupted", e);
            }
            return super.start();
        }
    }
}
