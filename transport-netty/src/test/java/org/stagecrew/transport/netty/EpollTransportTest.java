package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;

/** The transport contract over Netty's native epoll domain sockets; skipped, with the reason, where epoll is unavailable. */
class EpollTransportTest extends TransportContractTest {

    @Override
    protected IoMode mode() {
        return IoMode.EPOLL;
    }
}
