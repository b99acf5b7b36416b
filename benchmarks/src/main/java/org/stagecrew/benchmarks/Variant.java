package org.stagecrew.benchmarks;

import java.nio.file.Path;
import org.stagecrew.transport.IoMode;

/** A transport measured by the runner: ours in each socket mode, and the baselines. */
enum Variant {
    EPOLL("stagecrew epoll", IoMode.EPOLL),
    /** The opt-in low-latency mode: busy-polling event loops, frames handled on the event loop. Ping-pong only. */
    EPOLL_BUSY("stagecrew epoll busy-poll", IoMode.EPOLL),
    /** Acknowledged delivery (protocol version 2): a frame is kept until the receiver's application consumed it. */
    EPOLL_ACKED("stagecrew epoll acknowledged", IoMode.EPOLL),
    IO_URING("stagecrew io_uring", IoMode.IO_URING),
    NIO("stagecrew nio", IoMode.NIO),
    TCP("netty tcp loopback (our codec)", null),
    JDK("plain-JDK UDS baseline", null),
    /** Non-blocking sockets, spinning reads and writes, no selector: the floor for {@link #EPOLL_BUSY}. Ping-pong only. */
    JDK_BUSY("plain-JDK busy-poll UDS baseline", null),
    /** Aeron IPC (shared memory) through a media driver that the runner starts for this variant. */
    AERON("aeron ipc baseline", null);

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
        return this == EPOLL_BUSY || this == JDK_BUSY;
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
            case JDK_BUSY:
                return JdkBusyPollEndpoint.open(socketDirectory);
            case AERON:
                return AeronEndpoint.open(System.getProperty("aeron.dir"));
            case EPOLL_BUSY:
                return StagecrewEndpoint.openBusyPoll(socketDirectory, mode);
            case EPOLL_ACKED:
                return StagecrewEndpoint.openAcknowledged(socketDirectory, mode);
            default:
                return StagecrewEndpoint.open(socketDirectory, mode);
        }
    }
}
