package org.stagecrew.examples;

import io.netty.channel.EventLoopGroup;
import java.nio.file.Path;
import org.stagecrew.transport.netty.DomainSockets;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;

/**
 * Recipe: a Reactor Netty 1.3 {@link HttpServer} and {@link HttpClient} over a Unix Domain Socket, on
 * stagecrew's event loops ({@link DomainSockets}). {@code runOn(group)} is all it takes: Reactor Netty
 * sees that the address is a Unix Domain Socket and takes the domain-socket channel type of the
 * group's I/O mode, which is the one {@link DomainSockets#serverChannelType()} and
 * {@link DomainSockets#channelType()} name (the test checks that they agree). It skips the TCP-only
 * options on such channels, so there is no option warning here.
 */
final class ReactorNettyOverUds {
    private ReactorNettyOverUds() {
    }

    /**
     * An HTTP server for the socket file {@code socketFile} on {@code group}, with two routes:
     * {@code GET /hello/{name}} answers {@code "hello, " + name}; {@code POST /echo} answers the request
     * body. {@code bindNow} binds it: a stale socket file is replaced, a live listener's is refused with
     * {@code AddressInUseException}. Dispose the server (which unlinks the file) before shutting down
     * {@code group}.
     */
    static HttpServer server(DomainSockets uds, EventLoopGroup group, Path socketFile) {
        return HttpServer.create()
                .runOn(group)
                .bindAddress(() -> uds.bindAddress(socketFile))
                .route(routes -> routes
                        .get("/hello/{name}", (request, response) ->
                                response.sendString(Mono.just("hello, " + request.param("name"))))
                        .post("/echo", (request, response) -> response.send(request.receive().retain())));
    }

    /**
     * An HTTP client whose every request goes to the server at {@code socketFile}, over {@code group}.
     * Its connections are pooled in {@code connections}, which you dispose when done (the default pool
     * is a global one that lives until the JVM exits). The request's host is {@code localhost}.
     */
    static HttpClient client(DomainSockets uds, EventLoopGroup group, ConnectionProvider connections, Path socketFile) {
        return HttpClient.create(connections)
                .runOn(group)
                .remoteAddress(() -> uds.connectAddress(socketFile));
    }
}
