package org.stagecrew.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.IoMode;

/**
 * Units on different I/O modes in one mesh: for each of EPOLL, IO_URING and NIO, two units on that
 * mode and one on every other available mode exchange 2,000 checked frames with each other. A mode
 * this machine lacks is skipped with its reason.
 */
@StagecrewTest
class MixedModesIT {
    static final List<IoMode> SOCKET_MODES = List.of(IoMode.EPOLL, IoMode.IO_URING, IoMode.NIO);
    static final int FRAMES = 2_000;

    @ParameterizedTest(name = "two units on {0}, one on every other available mode")
    @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void unitsOnThisModeExchangeEveryFrameWithUnitsOnTheOtherModes(IoMode mode, Stage stage) throws Exception {
        assumeTrue(mode.isAvailable(), () -> mode + " is not available on this machine: " + mode.unavailabilityCause());
        List<IoMode> modes = new ArrayList<>(List.of(mode, mode));
        List<String> skipped = new ArrayList<>();
        for (IoMode other : SOCKET_MODES) {
            if (other == mode) {
                continue;
            }
            if (other.isAvailable()) {
                modes.add(other);
            } else {
                skipped.add(other + " (" + other.unavailabilityCause() + ")");
            }
        }
        assumeTrue(modes.size() > 2, () -> "no other socket mode is available to mix with " + mode + ": " + skipped);

        Mesh.Result result = Mesh.run(stage, modes, FRAMES, 64, 256, Duration.ofSeconds(90));

        System.out.printf("[MixedModesIT] units on %s: %,d frames, %,d bytes received and verified in %,d ms%s%n", modes,
                result.frames(), result.bytes(), result.millis(), skipped.isEmpty() ? "" : "; not available: " + skipped);
    }
}
