package org.stagecrew.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.testing.Hygiene;
import org.stagecrew.transport.test.LeakDetection;

/**
 * Runs after every other suite of this JVM (ordered last with {@code ClassOrderer$OrderAnnotation},
 * configured in the Failsafe plugin): no socket files in any stage's directory, no child processes,
 * no Netty leak report in any child's log or in this JVM.
 */
@Order(Integer.MAX_VALUE)
class HygieneIT {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void theSuitesLeftNoSocketFilesNoChildProcessesAndNoLeakedBuffers() {
        assumeTrue(Hygiene.stagesOpened() > 0, "no stage was opened in this JVM: run with the other suites");

        Hygiene.assertClean();
        LeakDetection.assertNoLeaks();

        System.out.printf("[HygieneIT] %d stages checked: no socket files, no child processes, no leak reports"
                + " (children's logs and this JVM)%n", Hygiene.stagesOpened());
    }
}
