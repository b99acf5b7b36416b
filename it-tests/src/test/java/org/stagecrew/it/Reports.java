package org.stagecrew.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
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
}
