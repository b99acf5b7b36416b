package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;

/**
 * Text frames between the test JVM and its units: commands ({@code GO}) and reports
 * ({@code KIND key=value key=value ...}, values without spaces).
 */
final class Reports {
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    private Reports() {
    }

    static ByteBuf text(String text) {
        return ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, text);
    }

    static void send(Transport transport, Address to, String text) {
        try {
            transport.send(to, text(text)).get(SEND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("sending '" + text + "' to " + to + " failed: " + e, e);
        }
    }

    /** One parsed report. */
    record Report(Address sender, String kind, Map<String, String> values) {
        long number(String key) {
            String v = values.get(key);
            if (v == null) {
                throw new AssertionError("report " + this + " has no " + key);
            }
            return Long.parseLong(v);
        }

        String get(String key) {
            return values.getOrDefault(key, "");
        }
    }

    static Report parse(Address sender, String text) {
        String[] parts = text.trim().split(" ");
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq > 0) {
                values.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
        }
        return new Report(sender, parts[0], values);
    }

    /** Receives the next frame as a report, failing after {@code timeout}. */
    static Report receive(Transport transport, Duration timeout, String what) {
        try (Frame frame = transport.receive(timeout)) {
            if (frame == null) {
                throw new AssertionError("no " + what + " arrived within " + timeout);
            }
            return parse(frame.sender(), frame.payload().toString(StandardCharsets.UTF_8));
        }
    }

    static String text(Frame frame) {
        return frame.payload().toString(StandardCharsets.UTF_8);
    }

    /**
     * Reports as they arrive at one transport, taken by kind and sender: a report that is not the one
     * waited for is kept for a later {@link #await}. Not thread-safe.
     */
    static final class Pending {
        private final List<Report> kept = new ArrayList<>();
        private final Duration timeout;

        Pending(Duration timeout) {
            this.timeout = timeout;
        }

        /** The next report of {@code kind} from {@code from}, waiting at most the timeout in all. */
        Report await(Transport me, String kind, Address from) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (Report r : kept) {
                    if (r.kind().equals(kind) && r.sender().equals(from)) {
                        kept.remove(r);
                        return r;
                    }
                }
                Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
                kept.add(receive(me, left, kind + " report from " + from + " (have: " + kept + ")"));
            }
        }
    }
}
