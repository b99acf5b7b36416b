package org.stagecrew.netty41;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.netty.DomainSockets;

/**
 * A Vert.x 4.5 application (Netty 4.1) with stagecrew declared before Vert.x: its HTTP server over TCP
 * keeps working, and one of its handlers calls a service over Unix Domain Sockets through the drop-in.
 */
@Timeout(60)
class Vertx45ApplicationTest {
    private static final long WAIT_SECONDS = 10;

    @TempDir
    Path dir;

    private Vertx vertx;

    @BeforeEach
    void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void closeVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void aVertxHttpServerOverTcpKeepsWorking() throws Exception {
        HttpServer server = await(vertx.createHttpServer().requestHandler(request -> request.response().end("plain tcp"))
                .listen(0, "127.0.0.1"));
        assertEquals("plain tcp", get(server.actualPort(), "/"));
    }

    @Test
    void aVertxHandlerCallsAServiceOverUnixDomainSocketsThroughTheDropIn() throws Exception {
        DomainSockets uds = DomainSockets.of(IoMode.AUTO);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        Path path = dir.resolve("upper.sock");
        try {
            Channel service = uds.bind(UppercaseLineService.server(group, uds.serverChannelType()), path).sync().channel();
            try {
                HttpServer server = await(vertx.createHttpServer().requestHandler(request -> {
                    String word = request.getParam("word");
                    Future.fromCompletionStage(UppercaseLineService.call(group, uds.channelType(), uds.connectAddress(path), word),
                                    vertx.getOrCreateContext())
                            .onSuccess(answer -> request.response().end(answer))
                            .onFailure(failure -> request.response().setStatusCode(502).end(failure.toString()));
                }).listen(0, "127.0.0.1"));
                for (int i = 0; i < 50; i++) {
                    assertEquals("VERTX-" + i, get(server.actualPort(), "/?word=vertx-" + i));
                }
                assertTrue(uds.mode() == IoMode.EPOLL || uds.mode() == IoMode.NIO, uds.toString());
            } finally {
                service.close().sync();
            }
        } finally {
            assertTrue(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }

    private String get(int port, String uri) throws Exception {
        HttpClient client = vertx.createHttpClient();
        try {
            return await(client.request(HttpMethod.GET, port, "127.0.0.1", uri)
                    .compose(request -> request.send().compose(HttpClientResponse::body))
                    .map(Buffer::toString));
        } finally {
            await(client.close());
        }
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    }
}
