package org.stagecrew.benchmarks;

import static org.stagecrew.benchmarks.JdkBaselineEndpoint.closeQuietly;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** One blocking connection to a destination. Used by one sender thread at a time. */
final class JdkOutbound implements AutoCloseable {
    private final SocketChannel channel;
    private final ByteBuffer header = ByteBuffer.allocateDirect(4);
    private final ByteBuffer[] single = new ByteBuffer[2];

    private JdkOutbound(SocketChannel channel) {
        this.channel = channel;
        single[0] = header;
    }

    static JdkOutbound connect(String destination) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(destination));
            return new JdkOutbound(channel);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            throw new IOException("connect failed for " + destination + ": " + e.getMessage(), e);
        }
    }

    /** Writes the length and the payload with gathering writes until both are out; does not release. */
    void write(ByteBuf payload) throws IOException {
        int length = payload.readableBytes();
        header.clear();
        header.putInt(0, length);
        ByteBuffer[] parts;
        if (payload.nioBufferCount() == 1) {
            parts = single;
            parts[1] = payload.nioBuffer();
        } else { // a composite payload: its components, gathered behind the header
            ByteBuffer[] components = payload.nioBuffers();
            parts = new ByteBuffer[components.length + 1];
            parts[0] = header;
            System.arraycopy(components, 0, parts, 1, components.length);
        }
        try {
            for (long remaining = 4L + length; remaining > 0; ) {
                remaining -= channel.write(parts);
            }
        } finally {
            single[1] = null;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
