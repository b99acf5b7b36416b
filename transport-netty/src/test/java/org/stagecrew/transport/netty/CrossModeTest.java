package org.stagecrew.transport.netty;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.epoll.Epoll;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/** Transports of different I/O modes speak the same wire protocol. */
@Timeout(value = 60, unit = SECONDS)
class CrossModeTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void anEpollTransportAndANioTransportExchangeFramesBothWays() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), () -> "epoll is not available: " + Epoll.unavailabilityCause());
        try (Transport epoll = open(IoMode.EPOLL); Transport nio = open(IoMode.NIO)) {
            epoll.send(nio.address(), ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, "from epoll"))
                    .get(WAIT.toSeconds(), SECONDS);

            try (Frame request = nio.receive(WAIT)) {
                assertNotNull(request, "nothing reached the NIO transport");
                assertEquals(epoll.address(), request.sender());
                assertEquals("from epoll", request.payload().toString(UTF_8));
                nio.send(request.sender(), ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, "from nio"))
                        .get(WAIT.toSeconds(), SECONDS);
            }
            try (Frame reply = epoll.receive(WAIT)) {
                assertNotNull(reply, "nothing reached the epoll transport");
                assertEquals(nio.address(), reply.sender());
                assertEquals("from nio", reply.payload().toString(UTF_8));
            }
        }
    }

    private Transport open(IoMode mode) {
        return Transport.open(TransportConfig.builder().socketDirectory(dir).ioMode(mode).build());
    }
}
