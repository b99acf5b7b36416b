package org.stagecrew.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.ControlConnection;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.TransportConfig;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.TransportTimeoutException;
import org.stagecrew.transport.netty.NettyTransports;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code stagecrew ping ADDRESS}: round trips over a CONTROL connection, answered by the endpoint's
 * transport without its application; prints each reply's round-trip time, then min/avg/max and how
 * many were lost, as ping(8) does. Exit status 0 if every ping was answered, 1 if some were lost or
 * the connection ended, 2 if the endpoint could not be reached or refused (the message says why).
 */
@Command(name = "ping", mixinStandardHelpOptions = true,
        description = "Round trips to an endpoint's transport (a CONTROL connection of protocol version 2), answered without"
                + " its application.")
final class PingCommand implements Callable<Integer> {
    static final int VERSION_1_ONLY = 1;
    static final int NOT_ALLOWED = 2;

    @Parameters(index = "0", paramLabel = "ADDRESS",
            description = "the endpoint's socket file; a bare name is looked up in $TMPDIR/stagecrew-$USER; @name is an"
                    + " abstract name (Linux)")
    String address;

    @Option(names = "-c", paramLabel = "N", description = "number of pings (default: ${DEFAULT-VALUE})")
    int count = 5;

    @Option(names = "-i", paramLabel = "SECONDS", description = "wait between pings (default: ${DEFAULT-VALUE})")
    double interval = 1.0;

    @Option(names = {"-W", "--timeout"}, paramLabel = "SECONDS",
            description = "wait for the hello's answer and for each reply (default: ${DEFAULT-VALUE})")
    double timeout = 2.0;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (count < 1 || interval < 0 || timeout <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-c must be at least 1, -i at least 0 and -W above 0;"
                    + " were " + count + ", " + interval + " and " + timeout);
        }
        Address peer = parse(address);
        Duration wait = seconds(timeout);
        PrintWriter out = spec.commandLine().getOut();
        try (ControlConnection control = connect(peer, wait)) {
            OptionalLong pid = peer.isAbstract() ? OptionalLong.empty() : NettyTransports.ownerPid(peer.toPath());
            out.println("PING " + peer + (pid.isPresent() ? " (pid " + pid.getAsLong() + ")" : ""));
            long min = Long.MAX_VALUE;
            long max = 0;
            long sum = 0;
            int sent = 0;
            int received = 0;
            String ended = null;
            for (int seq = 1; seq <= count; seq++) {
                if (seq > 1 && interval > 0) {
                    Thread.sleep(seconds(interval).toMillis()); // the pace the user asked for between pings
                }
                sent++;
                try {
                    long nanos = control.ping(wait).toNanos();
                    received++;
                    min = Math.min(min, nanos);
                    max = Math.max(max, nanos);
                    sum += nanos;
                    out.println("reply from " + peer + ": seq=" + seq + " time=" + millis(nanos) + " ms");
                } catch (TransportTimeoutException e) {
                    out.println("no reply from " + peer + ": seq=" + seq + " (waited " + wait.toMillis() + " ms)");
                } catch (TransportException e) {
                    ended = e.getMessage();
                    out.println("connection to " + peer + " ended: " + ended);
                    break;
                }
            }
            out.println("--- " + peer + " ping statistics ---");
            out.println(sent + " sent, " + received + " received, " + (sent - received) + " lost");
            if (received > 0) {
                out.println("rtt min/avg/max = " + millis(min) + "/" + millis(sum / received) + "/" + millis(max) + " ms");
            }
            return received == sent && ended == null ? 0 : 1;
        }
    }

    /** Connects, turning every way it can fail into one line that names the address and what to do. */
    private static ControlConnection connect(Address peer, Duration wait) throws InterruptedException {
        try {
            // The connector has its own timeout of wait; the extra second only guards against a lost completion.
            return NettyTransports.connectControl(peer, wait).get(wait.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof PeerRejectedException rejected) {
                throw new ToolException(refusal(peer, rejected));
            }
            // A TransportException's message names the address and what to do already.
            throw new ToolException(cause instanceof TransportException ? cause.getMessage() : "ping " + peer + " failed: " + cause);
        } catch (TimeoutException e) {
            throw new ToolException("ping " + peer + " failed: no answer to the hello within " + wait.toMillis() + " ms");
        }
    }

    static String refusal(Address peer, PeerRejectedException e) {
        switch (e.code()) {
            case VERSION_1_ONLY:
                return "ping " + peer + " refused: the endpoint speaks protocol version 1 only, which has no ping (it answered"
                        + " UNSUPPORTED_VERSION: " + e.reason() + "); update its stagecrew to one that answers pings";
            case NOT_ALLOWED:
                return "ping " + peer + " refused by the endpoint's peer policy: " + e.reason() + "; run stagecrew as a user"
                        + " that policy allows";
            default:
                return "ping " + peer + " refused (code " + e.code() + "): " + e.reason();
        }
    }

    /** {@code @name}: an abstract name; a name without a slash: a socket file in the default directory; else a path. */
    static Address parse(String text) {
        try {
            if (text.startsWith("@")) {
                return Address.abstractName(text.substring(1));
            }
            Path path = Path.of(text);
            return Address.of(path.getParent() == null ? TransportConfig.defaultSocketDirectory().resolve(path) : path.toAbsolutePath());
        } catch (IllegalArgumentException e) {
            throw new ToolException("ping " + text + " failed: not a valid address: " + e.getMessage());
        }
    }

    private static Duration seconds(double s) {
        return Duration.ofNanos((long) (s * 1e9));
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }
}
