package org.stagecrew.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.netty.DomainSockets;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/** {@link ReactorNettyOverUds} answers real HTTP requests in every socket mode this machine has, and closes cleanly. */
@Timeout(60)
class ReactorNettyOverUdsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int REQUESTS = 200;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "IO_URING", "NIO"})
    void twoHundredRequestsGetTheirAnswersOverStagecrewsLoopsAndChannelTypes(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        Path socketFile = dir.resolve("http.sock");
        Set<Class<?>> channelTypes = ConcurrentHashMap.newKeySet();
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            DisposableServer server = ReactorNettyOverUds.server(uds, group, socketFile)
                    .doOnConnection(connection -> channelTypes.add(connection.channel().getClass()))
                    .bindNow(WAIT);
            try {
                assertEquals(uds.serverChannelType(), server.channel().getClass(), "server channel type");
                assertTrue(Files.exists(socketFile), "socket file while serving");
                ConnectionProvider connections = ConnectionProvider.create("recipe-" + mode, 2);
                try {
                    HttpClient client = ReactorNettyOverUds.client(uds, group, connections, socketFile)
                            .doOnConnected(connection -> channelTypes.add(connection.channel().getClass()));
                    for (int i = 0; i < REQUESTS / 2; i++) {
                        assertEquals("200 hello, caller-" + i, get(client, "/hello/caller-" + i), "GET " + i);
                        String body = "body " + i + " ✓";
                        assertEquals("200 " + body, post(client, "/echo", body), "POST " + i);
                    }
                } finally {
                    connections.disposeLater().block(WAIT);
                }
            } finally {
                server.disposeNow(WAIT);
            }
            assertEquals(Set.of(uds.channelType()), channelTypes, "channel type of every client and server connection");
            assertFalse(Files.exists(socketFile), "socket file left behind after the server was disposed");
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT.toSeconds(), TimeUnit.SECONDS),
                    "event loop group terminated");
        }
        assertEquals(List.of(), reactorsOwnLoopThreads(), "Reactor Netty started event loops of its own");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "KQUEUE", "IO_URING", "NIO"})
    void theServerReplacesAStaleSocketFileAndASecondServerAtALiveOneIsRefused(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: " + mode.unavailabilityCause());
        DomainSockets uds = DomainSockets.of(mode);
        Path socketFile = dir.resolve("http.sock");
        GrpcOverUdsTest.leaveStaleSocketFile(socketFile);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            DisposableServer server = ReactorNettyOverUds.server(uds, group, socketFile).bindNow(WAIT);
            try {
                AddressInUseException refused = assertThrows(AddressInUseException.class,
                        () -> ReactorNettyOverUds.server(uds, group, socketFile).bindNow(WAIT));
                assertTrue(refused.getMessage().contains(socketFile.toString()), refused::getMessage);

                ConnectionProvider connections = ConnectionProvider.create("recipe-" + mode, 1);
                try {
                    assertEquals("200 hello, still-there",
                            get(ReactorNettyOverUds.client(uds, group, connections, socketFile), "/hello/still-there"),
                            "the first server still serves");
                } finally {
                    connections.disposeLater().block(WAIT);
                }
            } finally {
                server.disposeNow(WAIT);
            }
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT.toSeconds(), TimeUnit.SECONDS),
                    "event loop group terminated");
        }
    }

    private static String get(HttpClient client, String uri) {
        return client.get().uri(uri)
                .responseSingle((response, content) -> content.asString().defaultIfEmpty("")
                        .map(body -> response.status().code() + " " + body))
                .block(WAIT);
    }

    private static String post(HttpClient client, String uri, String body) {
        return client.post().uri(uri)
                .send((request, outbound) -> outbound.sendString(Mono.just(body)))
                .responseSingle((response, content) -> content.asString().defaultIfEmpty("")
                        .map(answer -> response.status().code() + " " + answer))
                .block(WAIT);
    }

    /** Threads of Reactor Netty's global default loops ({@code reactor-http-epoll-1}, …), which a recipe must not need. */
    private static List<String> reactorsOwnLoopThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.startsWith("reactor-http-") || name.startsWith("reactor-tcp-"))
                .collect(Collectors.toList());
    }

}
