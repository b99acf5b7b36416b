package org.stagecrew.transport.test;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty's leak detector reported a leak during it (see {@link LeakDetection}).
 * Registered for every test through JUnit's extension auto-detection
 * ({@code META-INF/services/org.junit.jupiter.api.extension.Extension} and
 * {@code junit.jupiter.extensions.autodetection.enabled=true} in {@code junit-platform.properties}).
 *
 * <p>A Jazzer fuzz test (tagged {@value #FUZZ_TAG}) is checked once after its last input rather than
 * after each: a check collects garbage three times, which would make replaying a corpus of hundreds
 * of inputs take minutes. The fuzz targets check each input's buffers exactly themselves (their
 * allocator's own count), and a leak the detector reports still fails the fuzz test.
 */
public final class LeakDetectionExtension implements AfterEachCallback {
    /** The tag that Jazzer's {@code @FuzzTest} puts on every fuzz test. */
    static final String FUZZ_TAG = "jazzer";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(LeakDetectionExtension.class);

    @Override
    public void afterEach(ExtensionContext context) {
        if (!context.getTags().contains(FUZZ_TAG)) {
            LeakDetection.assertNoLeaks();
            return;
        }
        // Each input of a fuzz test is an invocation whose parent is the test method: check when JUnit closes the parent's store.
        ExtensionContext method = context.getParent().orElse(context);
        method.getStore(NAMESPACE).getOrComputeIfAbsent(FuzzTestLeakCheck.class, key -> new FuzzTestLeakCheck(), FuzzTestLeakCheck.class);
    }

    /** Runs the leak check when the fuzz test's store is closed, after its last input; a leak fails the fuzz test. */
    private static final class FuzzTestLeakCheck implements AutoCloseable {
        @Override
        public void close() {
            LeakDetection.assertNoLeaks();
        }
    }
}
