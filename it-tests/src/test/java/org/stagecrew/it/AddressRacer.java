package org.stagecrew.it;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
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
 * CHURN mode dir name ms -> CHURNED opened=.. refused=.. overlaps=.. misrouted=.. failures=.. first=..
 * </pre>
 *
 * <p>CHURN tries to open (and then closes) the address again and again for {@code ms} milliseconds. While it owns the address
 * it holds a marker file beside it, created with CREATE_NEW and naming the holder (pid-attempt): finding the
 * marker already there means that another process owned the address at the same time (an overlap). And it sends a frame to its
 * own address, which must come back to it (else: misrouted). After each attempt it pauses for a
 * random moment of up to 2 ms, so that the address changes hands between the two JVMs.
 */
public final class AddressRacer {
    private static final Duration RECEIVE_WAIT = Duration.ofSeconds(10);
    private static final Duration CHURN_RECEIVE_WAIT = Duration.ofSeconds(2);

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
                case "CHURN":
                    System.out.println(churn(config(words[1], words[2]).fileName(words[3]).build(), Long.parseLong(words[4])));
                    break;
                default:
                    System.out.println("FAILED unknown command: " + line);
            }
        }
        if (transport != null) {
            transport.close();
        }
    }

    private static String churn(TransportConfig config, long millis) throws Exception {
        Path marker = config.socketDirectory().resolve(config.fileName() + ".owner");
        int opened = 0, refused = 0, overlaps = 0, misrouted = 0, failures = 0;
        String first = "none";
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (int i = 0; System.nanoTime() - deadline < 0; i++) {
            // Load shaping, not synchronisation: a pause of up to 2 ms before each attempt lets the other JVM's
            // attempts land between our ownerships, so that ownership changes hands and the lock file is
            // unlinked while the other has just opened it.
            LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000));
            Transport transport;
            try {
                transport = Transport.open(config);
            } catch (AddressInUseException e) {
                refused++;
                continue;
            } catch (RuntimeException e) {
                failures++;
                first = failures == 1 ? e.toString() : first;
                continue;
            }
            boolean markerOurs = false;
            try {
                opened++;
                String text = ProcessHandle.current().pid() + "-" + i;
                try {
                    Files.writeString(marker, text, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    markerOurs = true;
                } catch (FileAlreadyExistsException e) {
                    overlaps++;
                    first = overlaps == 1 && failures == 0 ? "overlap at " + text + " with " + markerHolder(marker) : first;
                    continue;
                }
                transport.send(transport.address(), ByteBufUtil.writeUtf8(PooledByteBufAllocator.DEFAULT, text)).get(10, TimeUnit.SECONDS);
                try (Frame frame = transport.receive(CHURN_RECEIVE_WAIT)) {
                    if (frame == null || !text.equals(frame.payload().toString(UTF_8))) {
                        misrouted++;
                    }
                }
            } catch (Exception e) {
                failures++;
                first = failures == 1 ? e.toString() : first;
            } finally {
                if (markerOurs) {
                    // Before the close: once our transport is closed, the other JVM may own the address and create the marker.
                    Files.deleteIfExists(marker);
                }
                transport.close();
            }
        }
        return "CHURNED opened=" + opened + " refused=" + refused + " overlaps=" + overlaps + " misrouted=" + misrouted
                + " failures=" + failures + " first=" + oneLine(first);
    }

    /** Who holds the marker: its content (pid-attempt), or why it cannot be read. */
    private static String markerHolder(Path marker) {
        try {
            return Files.readString(marker);
        } catch (IOException e) {
            return "a marker gone since (" + e + ")";
        }
    }

    private static TransportConfig.Builder config(String mode, String dir) {
        return TransportConfig.builder().ioMode(IoMode.valueOf(mode)).socketDirectory(Path.of(dir));
    }

    private static String oneLine(String text) {
        return String.valueOf(text).replace('\n', ' ');
    }
}
