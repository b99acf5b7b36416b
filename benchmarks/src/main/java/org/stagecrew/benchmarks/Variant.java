package org.stagecrew.benchmarks;

import java.nio.file.Path;
import org.stagecrew.transport.IoMode;

/** A transport measured by the runner: ours in each socket mode, and the two baselines. */
enum Variant {
    EPOLL("stagecrew epoll", IoMode.EPOLL),
    /** The opt-in low-latency mode: busy-polling event loops, frames handled on the event loop. Ping-pong only. */
    EPOLL_BUSY("stagecrew epoll busy-poll", IoMode.EPOLL),
    /** Acknowledged delivery (protocol version 2): a frame is kept until the receiver's application consumed it. */
    EPOLL_ACKED("stagecrew epoll acknowledged", IoMode.EPOLL),
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

    /** Whether only ping-pong is measured: a busy-polling variant keeps a CPU per process spinning. */
    boolean isLatencyOnly() {
        return this == EPOLL_BUSY;
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
            case EPOLL_BUSY:
                return StagecrewEndpoint.openBusyPoll(socketDirectory, mode);
            case EPOLL_ACKED:
                return StagecrewEndpoint.openAcknowledged(socketDirectory, mode);
            default:
                return StagecrewEndpoint.open(socketDirectory, mode);
        }
    }
}
