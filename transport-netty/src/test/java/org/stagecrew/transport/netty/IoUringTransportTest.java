package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;

/**
 * The transport contract over Netty's native io_uring domain sockets (Linux 5.14+); every test is
 * skipped, with {@link IoMode#unavailabilityCause()} as the reason, where io_uring is unavailable
 * or forbidden (containers often block it).
 */
class IoUringTransportTest extends TransportContractTest {

    @Override
    protected IoMode mode() {
        return IoMode.IO_URING;
    }
}
