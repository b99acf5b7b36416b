package org.stagecrew.it;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.time.Duration;
import org.stagecrew.transport.AddressInUseException;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * The child JVM of {@link AddressRaceIT}: opens, reads from and closes one transport when told, one
 * command per line on stdin, and answers each with one line on stdout. Kept in the JVM between
 * rounds, so that both racers are warm and a command's line reaches both at about the same moment.
 *
 * <pre>
 * WARM mode dir          -> WARMED          (opens and closes a transport with a generated name)
 * OPEN mode dir name     -> OPENED | IN_USE message | FAILED type message
 * RECEIVE                -> RECEIVED text | NOTHING
 * CLOSE                  -> CLOSED
 * </pre>
 */
public final class AddressRacer {
    private static final Duration RECEIVE_WAIT = Duration.ofSeconds(10);

    private AddressRacer() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, UTF_8));
        Transport transport = null;
        System.out.println("READY " + ProcessHandle.current().pid());
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.split(" ");
            switch (words[0]) {
                case "WARM":
                    Transport.open(config(words[1], words[2]).build()).close();
                    System.out.println("WARMED");
                    break;
                case "OPEN":
                    try {
                        transport = Transport.open(config(words[1], words[2]).fileName(words[3]).build());
                        System.out.println("OPENED");
                    } catch (AddressInUseException e) {
                        System.out.println("IN_USE " + oneLine(e.getMessage()));
                    } catch (RuntimeException e) {
                        System.out.println("FAILED " + e.getClass().getSimpleName() + " " + oneLine(e.getMessage()));
                    }
                    break;
                case "RECEIVE":
                    try (Frame frame = transport == null ? null : transport.receive(RECEIVE_WAIT)) {
                        System.out.println(frame == null ? "NOTHING" : "RECEIVED " + frame.payload().toString(UTF_8));
                    }
                    break;
                case "CLOSE":
                    if (transport != null) {
                        transport.close();
                        transport = null;
                    }
                    System.out.println("CLOSED");
                    break;
                default:
                    System.out.println("FAILED unknown command: " + line);
            }
        }
        if (transport != null) {
            transport.close();
        }
    }

    private static TransportConfig.Builder config(String mode, String dir) {
        return TransportConfig.builder().ioMode(IoMode.valueOf(mode)).socketDirectory(Path.of(dir));
    }

    private static String oneLine(String text) {
        return String.valueOf(text).replace('\n', ' ');
    }
}
