package org.stagecrew.transport.test;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** Runs a piece of a test on its own named daemon thread and hands back its outcome as a future. */
public final class Background {

    private Background() {
    }

    /** Starts {@code body} on a new daemon thread; the future completes with its result or failure. */
    public static <T> CompletableFuture<T> call(String threadName, Callable<T> body) {
        CompletableFuture<T> outcome = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                outcome.complete(body.call());
            } catch (Throwable e) {
                outcome.completeExceptionally(e);
            }
        }, threadName);
        thread.setDaemon(true); // a test that failed early must not keep the JVM alive
        thread.start();
        return outcome;
    }

    /** Starts {@code body} on a new daemon thread; the future completes when it returns or fails. */
    public static CompletableFuture<Void> run(String threadName, ThrowingRunnable body) {
        return call(threadName, () -> {
            body.run();
            return null;
        });
    }

    /** A {@link Runnable} that may throw. */
    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }
}
