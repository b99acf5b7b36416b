package org.stagecrew.transport.test;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.opentest4j.AssertionFailedError;

/** Waits for a condition with a deadline and a description, instead of sleeping. */
public final class Await {

    private Await() {
    }

    /**
     * Evaluates {@code condition} until it is true, at most for {@code timeout}.
     *
     * @throws AssertionFailedError naming {@code what} if the condition stayed false
     */
    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionFailedError("timed out after " + timeout + " waiting until " + what);
            }
            LockSupport.parkNanos(100_000);
        }
    }
}
