package org.stagecrew.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.netty.DomainSockets;

/** {@link GrpcOverUds} serves real calls in every socket mode this machine has, and closes cleanly. */
@Timeout(60)
class GrpcOverUdsTest {
    private static final long WAIT_SECONDS = 10;
    private static final int UNARY_CALLS = 1_000;
    private static final int STREAMED_MESSAGES = 100;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "IO_URING", "NIO"})
    void aThousandUnaryCallsAndAHundredMessageServerStreamGetTheirAnswers(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        Path socketFile = dir.resolve("greeter.sock");
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            Server server = GrpcOverUds.startServer(uds, group, socketFile);
            try {
                assertTrue(Files.exists(socketFile), "socket file while serving");
                ManagedChannel channel = GrpcOverUds.connect(uds, group, socketFile);
                try {
                    for (int i = 0; i < UNARY_CALLS; i++) {
                        String answer = ClientCalls.blockingUnaryCall(channel, GrpcOverUds.GREET, deadline(), "caller " + i);
                        assertEquals("hello, caller " + i, answer, "call " + i);
                    }

                    List<String> streamed = new ArrayList<>();
                    Iterator<String> stream = ClientCalls.blockingServerStreamingCall(channel, GrpcOverUds.COUNT, deadline(),
                            Integer.toString(STREAMED_MESSAGES));
                    stream.forEachRemaining(streamed::add);
                    assertEquals(IntStream.range(0, STREAMED_MESSAGES).mapToObj(Integer::toString).collect(Collectors.toList()),
                            streamed);
                } finally {
                    assertTrue(channel.shutdown().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "client channel terminated");
                }
            } finally {
                assertTrue(server.shutdown().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "server terminated");
            }
            assertFalse(Files.exists(socketFile), "socket file left behind after the server shut down");
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                    "event loop group terminated");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "IO_URING", "NIO"})
    void theServerReplacesAStaleSocketFileAndASecondServerAtALiveOneIsRefused(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        Path socketFile = dir.resolve("greeter.sock");
        leaveStaleSocketFile(socketFile);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            Server server = GrpcOverUds.startServer(uds, group, socketFile);
            try {
                AddressInUseException refused = assertThrows(AddressInUseException.class,
                        () -> GrpcOverUds.startServer(uds, group, socketFile));
                assertTrue(refused.getMessage().contains(socketFile.toString()), refused::getMessage);

                ManagedChannel channel = GrpcOverUds.connect(uds, group, socketFile);
                try {
                    assertEquals("hello, still there", ClientCalls.blockingUnaryCall(channel, GrpcOverUds.GREET, deadline(),
                            "still there"), "the first server still serves");
                } finally {
                    assertTrue(channel.shutdown().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "client channel terminated");
                }
            } finally {
                assertTrue(server.shutdown().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "server terminated");
            }
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                    "event loop group terminated");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "IO_URING", "NIO"})
    void aClientChannelFailsFastWhileTheServerIsDownAndReachesItRestartedAtTheSamePathAfterACrash(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        Path socketFile = dir.resolve("greeter.sock");
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            ManagedChannel channel = GrpcOverUds.connect(uds, group, socketFile);
            try {
                Server first = GrpcOverUds.startServer(uds, group, socketFile);
                try {
                    assertEquals("hello, first", ClientCalls.blockingUnaryCall(channel, GrpcOverUds.GREET, deadline(), "first"));
                } finally {
                    assertTrue(first.shutdownNow().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "first server terminated");
                }
                leaveStaleSocketFile(socketFile); // as a server killed with SIGKILL would have left it
                StatusRuntimeException down = assertThrows(StatusRuntimeException.class,
                        () -> ClientCalls.blockingUnaryCall(channel, GrpcOverUds.GREET, deadline(), "nobody there"));
                assertEquals(Status.Code.UNAVAILABLE, down.getStatus().getCode(), down::toString);

                Server second = GrpcOverUds.startServer(uds, group, socketFile);
                try {
                    // waitForReady: the call waits (up to its deadline) while the channel, failed above, reconnects.
                    assertEquals("hello, again", ClientCalls.blockingUnaryCall(channel, GrpcOverUds.GREET,
                            deadline().withWaitForReady(), "again"));
                } finally {
                    assertTrue(second.shutdown().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "second server terminated");
                }
            } finally {
                assertTrue(channel.shutdownNow().awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS), "client channel terminated");
            }
            assertFalse(Files.exists(socketFile), "socket file left behind after the second server shut down");
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                    "event loop group terminated");
        }
    }

    /** What a crashed server leaves: a socket file with no listener (the JDK does not unlink on close). */
    static void leaveStaleSocketFile(Path socketFile) throws IOException {
        try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            crashed.bind(UnixDomainSocketAddress.of(socketFile));
        }
        assertTrue(Files.exists(socketFile), "stale socket file " + socketFile);
    }

    private static CallOptions deadline() {
        return CallOptions.DEFAULT.withDeadlineAfter(WAIT_SECONDS, TimeUnit.SECONDS);
    }
}
