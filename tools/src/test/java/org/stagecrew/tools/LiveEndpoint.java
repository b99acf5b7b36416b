package org.stagecrew.tools;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * A process that owns one address for {@link StagecrewCommandIT}: {@code LiveEndpoint DIR NAME}
 * binds {@code DIR/NAME}, prints {@code READY}, prints {@code RECEIVED} for each frame, and closes
 * when its standard input ends.
 */
public final class LiveEndpoint {
    private LiveEndpoint() {
    }

    public static void main(String[] args) throws Exception {
        try (Transport transport = Transport.open(TransportConfig.builder().socketDirectory(Path.of(args[0]))
                .fileName(args[1]).build())) {
            System.out.println("READY");
            Thread receiver = new Thread(() -> {
                while (transport.isOpen()) {
                    try {
                        Frame frame = transport.receive(Duration.ofMillis(200));
                        if (frame != null) {
                            frame.close();
                            System.out.println("RECEIVED");
                        }
                    } catch (RuntimeException closed) {
                        return;
                    }
                }
            }, "receiver");
            receiver.setDaemon(true);
            receiver.start();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            while (in.readLine() != null) {
                // until the test closes our standard input
            }
        }
    }
}
