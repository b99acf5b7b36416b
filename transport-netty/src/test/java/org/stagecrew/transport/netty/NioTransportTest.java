package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;

/** The transport contract over the JDK's own Unix Domain Sockets (JDK 16+) through Netty's NIO channels. */
class NioTransportTest extends TransportContractTest {

    @Override
    protected IoMode mode() {
        return IoMode.NIO;
    }
}
