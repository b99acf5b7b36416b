package org.stagecrew.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransportMetricsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void countersAppearAsMetersTaggedWithTheLocalAddressAndEachPeer() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (Transport receiver = Transport.open(TransportConfig.builder().socketDirectory(dir).build());
                Transport sender = Transport.open(TransportConfig.builder().socketDirectory(dir).build())) {
            TransportMetrics senderMetrics = new TransportMetrics(sender, Duration.ZERO, Tags.of("app", "test"));
            senderMetrics.bindTo(registry);
            new TransportMetrics(receiver, Duration.ZERO, Tags.empty()).bindTo(registry);
            assertNull(registry.find("stagecrew.frames.sent").tag("peer", receiver.address().toString()).functionCounter(),
                    "no peer before the first send");

            for (int i = 0; i < 7; i++) {
                sender.send(receiver.address(), PooledByteBufAllocator.DEFAULT.directBuffer(10).writeZero(10), WAIT);
            }
            assertTrue(sender.flush(WAIT));
            for (int i = 0; i < 7; i++) {
                try (Frame frame = receiver.receive(WAIT)) {
                    assertNotNull(frame);
                }
            }
            senderMetrics.refresh();

            FunctionCounter total = registry.get("stagecrew.frames.sent").tags("local", sender.address().toString(), "app", "test")
                    .tagKeys().functionCounters().stream().filter(c -> c.getId().getTag("peer") == null).findFirst().orElseThrow();
            assertEquals(7, total.count());
            FunctionCounter toPeer = registry.get("stagecrew.frames.sent").tags("local", sender.address().toString(),
                    "peer", receiver.address().toString(), "direction", "to").functionCounter();
            assertEquals(7, toPeer.count());
            assertEquals(7 * 14, registry.get("stagecrew.bytes.sent").tags("peer", receiver.address().toString())
                    .functionCounter().count());
            assertEquals("frames", toPeer.getId().getBaseUnit());
            assertEquals("bytes", registry.get("stagecrew.bytes.sent").tags("peer", receiver.address().toString())
                    .functionCounter().getId().getBaseUnit());
            Gauge active = registry.get("stagecrew.connections.active").tags("local", sender.address().toString(),
                    "peer", receiver.address().toString()).gauge();
            assertEquals(1, active.value());

            // The receiver's meters were bound before its peer appeared: counted in its totals at once, per peer after refresh.
            assertEquals(7, registry.get("stagecrew.frames.received").tags("local", receiver.address().toString())
                    .functionCounter().count());
        }
    }

    @Test
    void namesAreTheLabelsInDottedLowerCase() {
        assertEquals("frames.sent", TransportMetrics.dotted("framesSent"));
        assertEquals("back.pressure.wait.nanos", TransportMetrics.dotted("backPressureWaitNanos"));
    }
}
