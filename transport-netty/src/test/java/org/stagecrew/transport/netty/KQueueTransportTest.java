package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;

/**
 * The transport contract over Netty's native kqueue domain sockets (macOS and the BSDs). On Linux
 * every test is skipped with {@link IoMode#unavailabilityCause()} as the reason, never silently.
 */
class KQueueTransportTest extends TransportContractTest {

    @Override
    protected IoMode mode() {
        return IoMode.KQUEUE;
    }
}
