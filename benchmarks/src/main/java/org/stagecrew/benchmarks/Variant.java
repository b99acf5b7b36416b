package org.stagecrew.benchmarks;

import java.nio.file.Path;
import org.stagecrew.transport.IoMode;

/** A transport measured by the runner: ours in each socket mode, and the two baselines. */
enum Variant {
    EPOLL("stagecrew epoll", IoMode.EPOLL),
    IO_URING("stagecrew io_uring", IoMode.IO_URING),
    NIO("stagecrew nio", IoMode.NIO),
    TCP("netty tcp loopback (our codec)", null),
    JDK("plain-JDK UDS baseline", null);

    final String label;
    final IoMode mode;

    Variant(String label, IoMode mode) {
        this.label = label;
        this.mode = mode;
    }

    boolean isAvailable() {
        return mode == null || mode.isAvailable();
    }

    boolean isBaseline() {
        return mode == null;
    }

    Endpoint open(Path socketDirectory) {
        switch (this) {
            case TCP:
                return TcpNettyEndpoint.open(socketDirectory);
            case JDK:
                return JdkBaselineEndpoint.open(socketDirectory);
            default:
                return StagecrewEndpoint.open(socketDirectory, mode);
        }
    }
}
