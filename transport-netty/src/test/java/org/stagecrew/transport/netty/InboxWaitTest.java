package org.stagecrew.transport.netty;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.lang.management.ManagementFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.test.Await;

/** A consumer's wait in {@link Inbox#take}: woken by a batch or the close, ends at its timeout, and allocates nothing. */
@Timeout(value = 30, unit = SECONDS)
class InboxWaitTest {
    private static final Address OWNER = Address.of("/tmp/inbox-wait-test.sock");

    private static InboundBatch oneFrame() {
        return new InboundBatch(null, null, Unpooled.buffer(8).writeInt(1).writeByte(7), 1, 0);
    }

    /** Waits until {@code consumer} is parked (in {@link Inbox#take}, as its stack shows). */
    private static void awaitParked(Thread consumer) {
        Await.until("the consumer parked in take", java.time.Duration.ofSeconds(10),
                () -> consumer.getState() == Thread.State.TIMED_WAITING);
    }

    @Test
    void aConsumerWaitingInTakeGetsTheBatchAnEventLoopAddsWithoutWaitingOutItsTimeout() throws Exception {
        Inbox inbox = new Inbox(OWNER, 1000, 1 << 20);
        EmbeddedChannel channel = new EmbeddedChannel();
        CompletableFuture<InboundBatch> taken = new CompletableFuture<>();
        long start = System.nanoTime();
        Thread consumer = new Thread(() -> taken.complete(inbox.take(SECONDS.toNanos(20))), "inbox-wait-consumer");
        consumer.start();
        awaitParked(consumer);
        InboundBatch batch = oneFrame();
        inbox.add(channel, batch);
        assertSame(batch, taken.get(10, SECONDS));
        assertTrue(System.nanoTime() - start < SECONDS.toNanos(10), "woken by the add, not by its 20 s timeout");
        inbox.consumed(batch);
        channel.finishAndReleaseAll();
    }

    @Test
    void aTakeWithNothingAddedReturnsNullAtItsTimeout() {
        Inbox inbox = new Inbox(OWNER, 1000, 1 << 20);
        long start = System.nanoTime();
        assertNull(inbox.take(MILLISECONDS.toNanos(50)));
        assertTrue(System.nanoTime() - start >= MILLISECONDS.toNanos(50), "returned before its timeout");
    }

    @Test
    void closingTheInboxWakesAWaitingConsumerWithTransportClosed() throws Exception {
        Inbox inbox = new Inbox(OWNER, 1000, 1 << 20);
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        Thread consumer = new Thread(() -> {
            try {
                inbox.take(SECONDS.toNanos(20));
                thrown.complete(null);
            } catch (Throwable t) {
                thrown.complete(t);
            }
        }, "inbox-wait-consumer");
        consumer.start();
        awaitParked(consumer);
        inbox.close();
        Throwable t = thrown.get(10, SECONDS);
        assertTrue(t instanceof TransportClosedException, "expected TransportClosedException, got " + t);
    }

    @Test
    void anInterruptedWaitThrowsWithTheInterruptAsCauseAndKeepsTheInterruptStatus() throws Exception {
        Inbox inbox = new Inbox(OWNER, 1000, 1 << 20);
        CompletableFuture<String> outcome = new CompletableFuture<>();
        Thread consumer = new Thread(() -> {
            try {
                inbox.take(SECONDS.toNanos(20));
                outcome.complete("returned");
            } catch (TransportException e) {
                outcome.complete(e.getMessage() + " cause=" + (e.getCause() == null ? null : e.getCause().getClass().getSimpleName())
                        + " interrupted=" + Thread.currentThread().isInterrupted());
            }
        }, "inbox-wait-consumer");
        consumer.start();
        awaitParked(consumer);
        consumer.interrupt();
        String result = outcome.get(10, SECONDS);
        assertTrue(result.contains("was interrupted") && result.endsWith(" cause=InterruptedException interrupted=true"), result);
    }

    @Test
    void twoWaitingConsumersGetOneBatchEachFromTwoAdds() throws Exception {
        Inbox inbox = new Inbox(OWNER, 1000, 1 << 20);
        EmbeddedChannel channel = new EmbeddedChannel();
        CountDownLatch done = new CountDownLatch(2);
        InboundBatch[] got = new InboundBatch[2];
        Thread[] consumers = new Thread[2];
        for (int i = 0; i < 2; i++) {
            int index = i;
            consumers[i] = new Thread(() -> {
                got[index] = inbox.take(SECONDS.toNanos(20));
                done.countDown();
            }, "inbox-wait-consumer-" + i);
            consumers[i].start();
        }
        awaitParked(consumers[0]);
        awaitParked(consumers[1]);
        InboundBatch first = oneFrame();
        InboundBatch second = oneFrame();
        inbox.add(channel, first);
        inbox.add(channel, second);
        assertTrue(done.await(10, SECONDS), "a consumer slept on while a batch waited");
        assertTrue((got[0] == first && got[1] == second) || (got[0] == second && got[1] == first));
        inbox.consumed(first);
        inbox.consumed(second);
        channel.finishAndReleaseAll();
    }

    @Test
    void waitingInTakeAllocatesNothing() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter here");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        Assumptions.assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        Inbox inbox = new Inbox(OWNER, 1000, 1 << 20);
        for (int i = 0; i < 200; i++) {
            inbox.take(TimeUnit.MICROSECONDS.toNanos(1)); // warm up: class loading, first parks
        }
        long self = Thread.currentThread().getId();
        int waits = 2_000;
        long before = threads.getThreadAllocatedBytes(self);
        for (int i = 0; i < waits; i++) {
            inbox.take(TimeUnit.MICROSECONDS.toNanos(1));
        }
        long allocated = threads.getThreadAllocatedBytes(self) - before;
        // A Condition wait allocates a node (about 32 bytes) per wait: 64 KB here.
        assertTrue(allocated < 4096, waits + " timed waits in take allocated " + allocated + " bytes");
        assertEquals(0, inbox.frames());
    }
}
