import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The foreign peer of ForeignUidIT, run by the JDK's source launcher (no class path) under another
 * uid: for each socket path given, connects, says a valid hello (PROTOCOL.md) and prints the notice
 * it reads back, one line each:
 * <pre>
 * UID &lt;uid this process runs as&gt;
 * NOTICE &lt;path&gt; &lt;code&gt; &lt;reason, or "max &lt;n&gt;" for ACCEPTED&gt;
 * FAILED &lt;path&gt; &lt;exception&gt;
 * </pre>
 */
public class ForeignUidClient {
    public static void main(String[] args) throws IOException {
        System.out.println("UID " + Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        byte[] address = "/foreign/client.sock".getBytes(StandardCharsets.UTF_8);
        for (String path : args) {
            try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                channel.connect(UnixDomainSocketAddress.of(path));
                ByteBuffer hello = ByteBuffer.allocate(7 + address.length);
                hello.put(new byte[] {0x53, 0x43, 0x52, 0x57}).put((byte) 1).putShort((short) address.length).put(address).flip();
                while (hello.hasRemaining()) {
                    channel.write(hello);
                }
                ByteBuffer header = readFully(channel, 8);
                if (header.getInt(0) != 0x53435257) {
                    throw new IOException("not a stagecrew listener: magic " + Integer.toHexString(header.getInt(0)));
                }
                int code = header.get(5) & 0xff;
                ByteBuffer detail = readFully(channel, header.getShort(6) & 0xffff);
                String text = code == 0 && detail.capacity() == 4 ? "max " + (detail.getInt(0) & 0xffffffffL)
                        : new String(detail.array(), StandardCharsets.UTF_8);
                System.out.println("NOTICE " + path + " " + code + " " + text);
            } catch (IOException | RuntimeException e) {
                System.out.println("FAILED " + path + " " + e);
            }
        }
    }

    private static ByteBuffer readFully(SocketChannel channel, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) {
                throw new EOFException("end of stream after " + buf.position() + " of " + n + " bytes");
            }
        }
        return buf;
    }
}
