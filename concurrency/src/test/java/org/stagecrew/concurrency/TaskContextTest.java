package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/** {@link TaskContext#awaitStop(Duration)}. */
@Timeout(value = 30, unit = SECONDS)
class TaskContextTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void awaitStopReturnsTrueOnTheStopRequestAndTheTaskEndsCleanly() throws Exception {
        CompletableFuture<Boolean> sawStop = new CompletableFuture<>();
        CompletableFuture<Boolean> interruptedAfter = new CompletableFuture<>();
        Concurrency unit = Concurrency.thread(ctx -> {
            sawStop.complete(ctx.awaitStop(Duration.ofMinutes(5)));
            interruptedAfter.complete(Thread.currentThread().isInterrupted());
        }).transportConfig(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build()).start();
        assertTrue(unit.stop(WAIT), "the unit ended on its stop request");
        assertTrue(sawStop.get(WAIT.toSeconds(), SECONDS));
        assertEquals(0, unit.onExit().get(WAIT.toSeconds(), SECONDS).exitCode());
        assertTrue(unit.failure().isEmpty());
    }

    @Test
    void awaitStopReturnsFalseAtItsTimeoutWithoutAStop() throws Exception {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        try (Concurrency unit = Concurrency.thread(ctx -> result.complete(ctx.awaitStop(Duration.ofMillis(20))))
                .transportConfig(TransportConfig.builder().ioMode(IoMode.LOCAL).socketDirectory(dir).build()).start()) {
            assertFalse(result.get(WAIT.toSeconds(), SECONDS));
        }
    }
}
