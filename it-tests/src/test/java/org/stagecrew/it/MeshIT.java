package org.stagecrew.it;

import java.time.Duration;
import java.util.Collections;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.testing.Stage;
import org.stagecrew.testing.StagecrewTest;
import org.stagecrew.transport.IoMode;

/**
 * Eight process units, each sending 10,000 checked frames (64–256 B) to each of the seven others:
 * every receiver sees every frame of every sender once, intact and in order.
 */
@StagecrewTest
class MeshIT {
    static final int UNITS = 8;
    static final int FRAMES = 10_000;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void everyUnitReceivesEveryFrameOfEveryOtherOnceIntactAndInOrder(Stage stage) throws Exception {
        IoMode mode = IoMode.EPOLL.isAvailable() ? IoMode.EPOLL : IoMode.NIO;

        Mesh.Result result = Mesh.run(stage, Collections.nCopies(UNITS, mode), FRAMES, 64, 256, Duration.ofSeconds(180));

        System.out.printf("[MeshIT] %d units (%s) x %d frames to each other: %,d frames, %,d bytes received and verified"
                        + " (CRC32, order, no loss or duplicate) in %,d ms%n",
                UNITS, mode, FRAMES, result.frames(), result.bytes(), result.millis());
        for (Reports.Report r : result.reports()) {
            System.out.printf("[MeshIT]   unit %s: sent %s frames (%s B) in %s ms, all received after %s ms%n",
                    r.get("index"), r.get("sent"), r.get("sentBytes"), r.get("sendMs"), r.get("receiveMs"));
        }
    }
}
