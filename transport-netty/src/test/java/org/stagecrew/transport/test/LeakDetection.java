package org.stagecrew.transport.test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.opentest4j.AssertionFailedError;

/**
 * Turns Netty's leak reports into test failures.
 *
 * <p>{@link #install()} replaces Netty's {@link ResourceLeakDetectorFactory} with one whose
 * detectors remember every leak they report (and still log it). It must run before any
 * {@code ByteBuf} class is initialised, because {@code AbstractByteBuf} creates its detector once,
 * in its static initialiser; {@link LeakDetectionSessionListener} does that when the JUnit launcher
 * session opens. {@link LeakDetectionExtension} then calls {@link #assertNoLeaks()} after every
 * test.
 *
 * <p>Netty reports a leak only when a tracked object has been garbage collected without being
 * released, and only on a later {@code track()} call of the same detector, that is, when another
 * buffer is allocated. {@link #drainLeaks()} forces both.
 *
 * <p>Thread-safe.
 */
public final class LeakDetection {

    /** One leak that Netty reported. */
    public record Leak(String resourceType, String records) {
        @Override
        public String toString() {
            return "LEAK of " + resourceType + (records.isEmpty() ? " (no access records)" : ":" + records);
        }
    }

    /**
     * Start of the {@code touch()} hint that marks a leak made on purpose (by the harness's own
     * tests): it is recorded like any other, but not logged, so that the build log shows only real
     * leaks.
     */
    public static final String INTENTIONAL_LEAK_HINT = "intentional-leak-by-LeakDetectionSelfTest-";

    private static final Queue<Leak> LEAKS = new ConcurrentLinkedQueue<>();
    private static final Set<Class<?>> TRACKED_TYPES = ConcurrentHashMap.newKeySet();
    /**
     * Two collections, each waited for: the reference handler enqueues one collection's cleared
     * references in arbitrary order, so the first sentinel may come before some leak trackers of its
     * cycle; it hands them all over before it takes the second collection's, so once the second sentinel
     * has arrived every tracker the first collection cleared is queued, and the second provocation
     * reports it. A third round (there was one) caught only buffers that became garbage during the check,
     * which the next test's check reports anyway, for a third full collection after every test (30 to
     * 100 ms each on the 2-core CI machine, over a thousand tests per JDK); in the runs measured, every
     * leak, the intentional ones of LeakDetectionSelfTest included, was reported by the first round.
     */
    private static final int GC_ROUNDS = 2;
    private static final long GC_WAIT_MILLIS = 2_000;

    private static volatile boolean installed;

    private LeakDetection() {
    }

    /**
     * Installs the recording detector factory, once. Raises the detection level to PARANOID unless
     * a level was chosen with {@code -Dio.netty.leakDetection.level}. Touches no {@code ByteBuf}
     * class.
     */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        installed = true;
    }

    /**
     * Returns whether buffers are tracked by a recording detector, that is, whether
     * {@link #install()} ran before the {@code ByteBuf} classes were initialised.
     */
    public static boolean isTrackingBuffers() {
        return TRACKED_TYPES.contains(ByteBuf.class);
    }

    /**
     * Collects garbage, makes the buffer detector report what it found, and returns (and forgets)
     * every leak reported since the last call.
     */
    public static List<Leak> drainLeaks() {
        for (int round = 0; round < GC_ROUNDS; round++) {
            collectGarbage();
            provokeReports();
        }
        List<Leak> leaks = new ArrayList<>();
        for (Leak leak; (leak = LEAKS.poll()) != null; ) {
            leaks.add(leak);
        }
        return leaks;
    }

    /**
     * Fails if a leak was reported since the last call (the reports are drained), or if buffers are
     * not tracked at all.
     *
     * @throws AssertionFailedError naming every leak with Netty's access records
     */
    public static void assertNoLeaks() {
        List<Leak> leaks = drainLeaks();
        if (!leaks.isEmpty()) {
            StringBuilder message = new StringBuilder()
                    .append(leaks.size()).append(" resource leak(s) reported by Netty's leak detector")
                    .append(" (a buffer or frame was garbage collected without release()/close()):");
            for (Leak leak : leaks) {
                message.append(System.lineSeparator()).append(leak);
            }
            throw new AssertionFailedError(message.toString());
        }
        if (!isTrackingBuffers()) {
            throw new AssertionFailedError("Netty's ByteBuf leak detector is not the recording one: a ByteBuf class"
                    + " was initialised before LeakDetectionSessionListener ran, so leaks would go unnoticed");
        }
    }

    /** Waits until a garbage collection has run and its weak references have been enqueued. */
    private static void collectGarbage() {
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
        System.gc();
        try {
            // The reference handler enqueues the sentinel along with the leak trackers of the same cycle.
            queue.remove(GC_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            Reference.reachabilityFence(sentinel);
        }
    }

    /** Netty looks for collected trackers only when it tracks a new buffer. */
    private static void provokeReports() {
        for (int i = 0; i < 4; i++) {
            PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
            PooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
            Unpooled.directBuffer(16).release();
        }
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation") // the abstract method every factory must implement; maxActive is unused since Netty 4.1
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                long maxActive) {
            TRACKED_TYPES.add(resource);
            return new RecordingDetector<>(resource, samplingInterval);
        }

        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            TRACKED_TYPES.add(resource);
            return new RecordingDetector<>(resource, samplingInterval);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<T> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true; // record leaks even when Netty's error logging is switched off
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            LEAKS.add(new Leak(resourceType, records));
            if (!records.contains(INTENTIONAL_LEAK_HINT)) {
                super.reportTracedLeak(resourceType, records);
            }
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            LEAKS.add(new Leak(resourceType, ""));
            super.reportUntracedLeak(resourceType);
        }
    }
}
