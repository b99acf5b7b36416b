package org.stagecrew.transport.test;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Installs {@link LeakDetection} when the JUnit launcher session opens, before any test class (and
 * so any {@code ByteBuf} class) is initialised. Registered through
 * {@code META-INF/services/org.junit.platform.launcher.LauncherSessionListener}.
 */
public final class LeakDetectionSessionListener implements LauncherSessionListener {

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        LeakDetection.install();
    }

    @Override
    public void launcherSessionClosed(LauncherSession session) {
        // Leaks of the last test that surfaced too late for its AfterEach: no test left to fail, so say it loudly.
        for (LeakDetection.Leak leak : LeakDetection.drainLeaks()) {
            System.err.println("Leak reported after the last test: " + leak);
        }
    }
}
