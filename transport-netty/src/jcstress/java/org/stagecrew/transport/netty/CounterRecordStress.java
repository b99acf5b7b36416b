package org.stagecrew.transport.netty;

import java.util.Map;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;
import org.stagecrew.transport.PeerStats;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportStats;

/**
 * The counter records' seqlock ({@link CounterMemory}, read by {@link CounterSnapshots}): the owner
 * frees the record of peer {@code /a} (framesSent, value 5) and reuses it for peer {@code /b}
 * (bytesSent, value 7) while another thread (in production, another process) reads the memory. The
 * reader may see {@code /a} whole, nothing, or {@code /b} before or after its value; never a record
 * that mixes the two (one's label with the other's type or value).
 *
 * <p>Result: r1 what was seen (0 nothing, 1 {@code /a} framesSent, 2 {@code /b} bytesSent, 3 a mix);
 * r2 its value.
 */
@JCStressTest
@Description("CounterMemory: free and reallocate a record against a reader")
@Outcome(id = "1, 5", expect = Expect.ACCEPTABLE, desc = "the old record, whole")
@Outcome(id = "0, 0", expect = Expect.ACCEPTABLE, desc = "between free and reallocation, or during the rewrite")
@Outcome(id = "2, 0", expect = Expect.ACCEPTABLE, desc = "the new record before its first update")
@Outcome(id = "2, 7", expect = Expect.ACCEPTABLE, desc = "the new record, updated")
@Outcome(expect = Expect.FORBIDDEN, desc = "a torn record: one peer's label with the other's counter or value")
@State
public class CounterRecordStress {
    private final CounterMemory memory = CounterMemory.inProcess(2);

    public CounterRecordStress() {
        int id = memory.allocate(TransportCounter.FRAMES_SENT.ordinal(), TransportCounters.SCOPE_TO, -1, "/a");
        memory.add(id, 5);
    }

    @Actor
    public void owner() {
        memory.free(0);
        int id = memory.allocate(TransportCounter.BYTES_SENT.ordinal(), TransportCounters.SCOPE_TO, -1, "/b");
        memory.add(id, 7);
    }

    @Actor
    public void reader(II_Result r) {
        TransportStats stats = CounterSnapshots.read(memory.buffer(), 2, Map.of());
        if (stats.peers().isEmpty()) {
            return;
        }
        PeerStats peer = stats.peers().get(0);
        Map<String, Long> counters = peer.counters();
        boolean a = peer.peer().path().equals("/a") && counters.keySet().equals(java.util.Set.of("framesSent"));
        boolean b = peer.peer().path().equals("/b") && counters.keySet().equals(java.util.Set.of("bytesSent"));
        r.r1 = a ? 1 : b ? 2 : 3;
        r.r2 = (int) (long) counters.values().iterator().next();
    }
}
