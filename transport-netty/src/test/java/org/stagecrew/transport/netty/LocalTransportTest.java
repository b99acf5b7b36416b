package org.stagecrew.transport.netty;

import org.stagecrew.transport.IoMode;

/**
 * The transport contract over in-JVM channels: the same pipeline and codec without a socket. Tests
 * about socket files on disk are skipped, each saying so; everything else runs.
 */
class LocalTransportTest extends TransportContractTest {

    @Override
    protected IoMode mode() {
        return IoMode.LOCAL;
    }
}
