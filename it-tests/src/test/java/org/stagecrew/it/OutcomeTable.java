package org.stagecrew.it;

import static org.stagecrew.it.RawClient.ACCEPTED;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/** What every bad input got back, for the report: a row per input, a count per distinct answer. */
final class OutcomeTable {
    private final Map<String, Map<String, AtomicLong>> rows = Collections.synchronizedMap(new TreeMap<>());
    private final Map<String, AtomicLong> maxMillis = Collections.synchronizedMap(new LinkedHashMap<>());

    void record(String input, RawClient.Answer answer) {
        String outcome = outcome(answer);
        synchronized (rows) {
            rows.computeIfAbsent(input, k -> new LinkedHashMap<>()).computeIfAbsent(outcome, k -> new AtomicLong()).incrementAndGet();
            maxMillis.computeIfAbsent(input, k -> new AtomicLong()).accumulateAndGet(answer.millis(), Math::max);
        }
    }

    /** The answer without what varies between tries (the garbage's magic and length, the socket path), reasons shortened. */
    private static String outcome(RawClient.Answer a) {
        StringBuilder s = new StringBuilder();
        for (RawClient.Notice n : a.notices()) {
            String text = n.toString().replaceAll("bad magic 0x[0-9a-f]{8}", "bad magic 0x…")
                    .replaceAll(" of /\\S+\\.sock", "").replaceAll("x{20,}", "x…");
            if (a.notices().size() > 1 && text.matches("5 .*frame length [0-9]{7,} exceeds.*") && !text.contains("4294967295")) {
                text = text.replaceAll("frame length [0-9]+", "frame length <random>");
            }
            s.append(text.length() > 110 ? text.substring(0, 109) + "…\"" : text).append(" → ");
        }
        s.append(a.eof() ? "EOF (disconnected)" : a.error() != null ? a.error() : "connection open");
        return s.toString();
    }

    long tries(String inputPrefix) {
        synchronized (rows) {
            return rows.entrySet().stream().filter(e -> e.getKey().startsWith(inputPrefix))
                    .flatMap(e -> e.getValue().values().stream()).mapToLong(AtomicLong::get).sum();
        }
    }

    String render() {
        StringBuilder out = new StringBuilder();
        out.append(String.format("%-100s | %6s | %8s | %s%n", "bad input", "tries", "max ms", "what the endpoint did (answer read back → count)"));
        out.append("-".repeat(200)).append('\n');
        synchronized (rows) {
            rows.forEach((input, outcomes) -> {
                long tries = outcomes.values().stream().mapToLong(AtomicLong::get).sum();
                boolean first = true;
                for (Map.Entry<String, AtomicLong> o : outcomes.entrySet()) {
                    out.append(String.format("%-100s | %6s | %8s | %s × %d%n", first ? input : "", first ? tries : "",
                            first ? maxMillis.get(input).get() : "", o.getKey(), o.getValue().get()));
                    first = false;
                }
            });
        }
        return out.toString();
    }
}
