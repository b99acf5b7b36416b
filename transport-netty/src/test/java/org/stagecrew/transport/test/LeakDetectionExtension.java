package org.stagecrew.transport.test;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty's leak detector reported a leak during it (see {@link LeakDetection}).
 * Registered for every test through JUnit's extension auto-detection
 * ({@code META-INF/services/org.junit.jupiter.api.extension.Extension} and
 * {@code junit.jupiter.extensions.autodetection.enabled=true} in {@code junit-platform.properties}).
 */
public final class LeakDetectionExtension implements AfterEachCallback {

    @Override
    public void afterEach(ExtensionContext context) {
        LeakDetection.assertNoLeaks();
    }
}
