package org.stagecrew.transport.netty;

import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.stagecrew.transport.IoMode;

/** The transport contract over Netty's native epoll domain sockets (Linux). */
class EpollTransportTest extends TransportContractTest {

    @BeforeEach
    void requireEpoll() {
        Assumptions.assumeTrue(Epoll.isAvailable(), () -> "epoll is not available: " + Epoll.unavailabilityCause());
    }

    @Override
    protected IoMode mode() {
        return IoMode.EPOLL;
    }
}
