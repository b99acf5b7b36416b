package org.stagecrew.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.netty.DomainSockets;

/**
 * {@link NettyPipelineWithFrameCodec} against a real {@link Transport} in every mode this machine has
 * (LOCAL too: the same pipeline talks to an in-JVM transport): every ping the pipeline sends reaches
 * the transport attributed to the pipeline's address, and every reply comes back, in order.
 */
@Timeout(60)
class NettyPipelineWithFrameCodecTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int PINGS = 1_000;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
    void everyPingReachesTheTransportAndEveryReplyComesBackInOrder(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        Address self = Address.of(dir.resolve("service.sock"));
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        BlockingQueue<Address> senders = new LinkedBlockingQueue<>();
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try (Transport transport = Transport.open(TransportConfig.builder().socketDirectory(dir).ioMode(mode).build())) {
            Channel server = NettyPipelineWithFrameCodec.listen(uds, group, self,
                    new NettyPipelineWithFrameCodec.TextFrames(replies, senders));
            try {
                Channel client = NettyPipelineWithFrameCodec.connect(uds, group, self, transport.address());
                try {
                    for (int i = 0; i < PINGS; i++) {
                        client.write(Unpooled.copiedBuffer("ping " + i, StandardCharsets.UTF_8));
                    }
                    client.flush();

                    // The transport's side: answer each frame to whoever sent it.
                    for (int i = 0; i < PINGS; i++) {
                        try (Frame frame = transport.receive(WAIT)) {
                            assertNotNull(frame, () -> "no frame within " + WAIT + " after " + replies.size() + " replies");
                            assertEquals(self, frame.sender(), "the sender that the pipeline's hello named");
                            String ping = frame.payload().toString(StandardCharsets.UTF_8);
                            assertEquals("ping " + i, ping);
                            transport.send(frame.sender(), Unpooled.copiedBuffer("pong to " + ping, StandardCharsets.UTF_8), WAIT);
                        }
                    }
                    assertTrue(transport.flush(WAIT), "transport flushed its replies");

                    for (int i = 0; i < PINGS; i++) {
                        assertEquals("pong to ping " + i, replies.poll(WAIT.toSeconds(), TimeUnit.SECONDS), "reply " + i);
                    }
                    assertEquals(transport.address(), senders.poll(0, TimeUnit.SECONDS), "the transport's hello");
                    assertNull(senders.poll(0, TimeUnit.SECONDS), "one connection from the transport");
                    assertNull(replies.poll(0, TimeUnit.SECONDS), "no reply beyond the pings");
                } finally {
                    assertTrue(client.close().await(WAIT.toSeconds(), TimeUnit.SECONDS), "client channel closed");
                }
            } finally {
                assertTrue(server.close().await(WAIT.toSeconds(), TimeUnit.SECONDS), "server channel closed");
            }
            assertFalse(Files.exists(self.toPath()), "socket file left behind after the server channel closed");
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT.toSeconds(), TimeUnit.SECONDS),
                    "event loop group terminated");
        }
    }
}
