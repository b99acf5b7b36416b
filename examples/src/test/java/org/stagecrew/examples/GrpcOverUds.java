package org.stagecrew.examples;

import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.stagecrew.transport.netty.DomainSockets;

/**
 * Recipe: a gRPC-java server and client over a Unix Domain Socket, on stagecrew's event loops and
 * channel types ({@link DomainSockets}), with a unary and a server-streaming method and no protobuf
 * code generation (a {@link MethodDescriptor} with a UTF-8 string {@link MethodDescriptor.Marshaller}).
 *
 * <p>Use {@code io.grpc:grpc-netty}, not {@code grpc-netty-shaded}: the shaded artifact carries its own
 * relocated copy of Netty ({@code io.grpc.netty.shaded.io.netty…}), whose builders cannot take
 * stagecrew's (unshaded) event loop groups and channel types.
 *
 * <p>gRPC sets {@code SO_KEEPALIVE} on every connection, on the client and on the server side, so on a
 * Unix Domain Socket Netty logs {@code Unknown channel option 'SO_KEEPALIVE' for channel …} at WARN for
 * each (logger {@code io.netty.bootstrap.Bootstrap} and {@code ServerBootstrap}). It is harmless: the
 * option does not apply to Unix sockets. gRPC's own keepalive (HTTP/2 pings, {@code keepAliveTime} on
 * the builders) does not depend on it.
 */
final class GrpcOverUds {
    /** Unary: a name in, {@code "hello, " + name} out. */
    static final MethodDescriptor<String, String> GREET = method(MethodDescriptor.MethodType.UNARY, "Greet");

    /** Server streaming: a count {@code n} in, the strings {@code "0"} … {@code n-1} out. */
    static final MethodDescriptor<String, String> COUNT = method(MethodDescriptor.MethodType.SERVER_STREAMING, "Count");

    private GrpcOverUds() {
    }

    /**
     * Starts a gRPC server at {@code socketFile} on {@code group}. A stale socket file there is
     * replaced; a live listener's is refused with {@code AddressInUseException}. The caller shuts the
     * server down (which unlinks the file) before it shuts down {@code group}.
     */
    static Server startServer(DomainSockets uds, EventLoopGroup group, Path socketFile) throws IOException {
        return NettyServerBuilder.forAddress(uds.bindAddress(socketFile))
                .channelType(uds.serverChannelType())
                .bossEventLoopGroup(group)
                .workerEventLoopGroup(group)
                .directExecutor() // these handlers never block; give .executor(pool) to ones that do
                .addService(greeter())
                .build()
                .start();
    }

    /**
     * Builds a client channel to the server at {@code socketFile} on {@code group}; it connects on the
     * first call. While no server listens there, calls fail fast with {@code UNAVAILABLE}; a call with
     * {@code CallOptions.withWaitForReady()} instead waits, up to its deadline, for a server started (or
     * restarted) at that path. The caller shuts the channel down before it shuts down {@code group}.
     */
    static ManagedChannel connect(DomainSockets uds, EventLoopGroup group, Path socketFile) {
        return NettyChannelBuilder.forAddress(uds.connectAddress(socketFile))
                .channelType(uds.channelType())
                .eventLoopGroup(group)
                .usePlaintext()
                .overrideAuthority("localhost") // else the :authority header would carry the socket path
                .directExecutor()
                .build();
    }

    /** The service: what you would otherwise generate from a .proto file. */
    static ServerServiceDefinition greeter() {
        return ServerServiceDefinition.builder("recipes.Greeter")
                .addMethod(GREET, ServerCalls.asyncUnaryCall((name, reply) -> {
                    reply.onNext("hello, " + name);
                    reply.onCompleted();
                }))
                .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((count, stream) -> {
                    // Fine for a few small messages; a long stream should follow flow control
                    // (ServerCallStreamObserver.isReady() and setOnReadyHandler).
                    for (int i = 0; i < Integer.parseInt(count); i++) {
                        stream.onNext(Integer.toString(i));
                    }
                    stream.onCompleted();
                }))
                .build();
    }

    private static MethodDescriptor<String, String> method(MethodDescriptor.MethodType type, String name) {
        return MethodDescriptor.<String, String>newBuilder()
                .setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("recipes.Greeter", name))
                .setRequestMarshaller(Utf8Marshaller.INSTANCE)
                .setResponseMarshaller(Utf8Marshaller.INSTANCE)
                .build();
    }

    /** A message is a UTF-8 string. */
    private enum Utf8Marshaller implements MethodDescriptor.Marshaller<String> {
        INSTANCE;

        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try (stream) {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
