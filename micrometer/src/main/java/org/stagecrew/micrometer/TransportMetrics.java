package org.stagecrew.micrometer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import org.stagecrew.transport.PeerStats;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportCounter;
import org.stagecrew.transport.TransportStats;

/**
 * Exposes a {@link Transport}'s live counters as Micrometer meters: one per {@link
 * TransportCounter} key of {@link TransportStats#totals()}, tagged {@code local} (the transport's
 * address), and one per key of each {@link PeerStats}, tagged {@code local}, {@code peer} and {@code
 * direction} ({@code to}, {@code from}). Counters with a detail carry it as a tag too ({@code type}
 * for {@code sendsFailed}, {@code code} for {@code connectionsRefused} and {@code
 * connectionsRejected}). Names are {@code stagecrew.} plus the counter's label in dotted lower case
 * (e.g. {@code stagecrew.frames.sent}); gauges ({@link TransportCounter#isGauge()}) are {@link Gauge}s,
 * the rest {@link FunctionCounter}s.
 *
 * <p>Peers come and go: {@link #bindTo} registers what exists then, and each {@link #refresh()}
 * registers new peers and details and removes the meters of peers the transport no longer keeps.
 * Call it periodically (e.g. every scrape interval from a scheduler); it is cheap. Meters read a
 * snapshot of {@link Transport#stats()} taken at most once per refresh interval (default 1 s), so
 * one scrape costs one snapshot. Thread-safe.
 */
public final class TransportMetrics implements MeterBinder {
    /** How old a snapshot may be before a meter reads a new one, by default. */
    public static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(1);

    private final Transport transport;
    private final Tags tags;
    private final long maxAgeNanos;
    /** Guarded by this: the meters registered, by name and tags. */
    private final Map<String, Meter> meters = new HashMap<>();
    private MeterRegistry registry;
    private volatile TransportStats snapshot;
    private volatile long takenAt;

    /** Metrics of {@code transport} with the default snapshot age and no extra tags. */
    public TransportMetrics(Transport transport) {
        this(transport, DEFAULT_MAX_AGE, Tags.empty());
    }

    /**
     * Metrics of {@code transport}.
     *
     * @param maxAge how old a snapshot of the counters may be when a meter is read
     * @param extraTags tags added to every meter
     * @throws IllegalArgumentException if {@code maxAge} is negative
     */
    public TransportMetrics(Transport transport, Duration maxAge, Iterable<Tag> extraTags) {
        this.transport = Objects.requireNonNull(transport, "transport");
        if (maxAge.isNegative()) {
            throw new IllegalArgumentException("maxAge must not be negative, was: " + maxAge);
        }
        this.maxAgeNanos = maxAge.toNanos();
        this.tags = Tags.of(extraTags).and("local", transport.address().toString());
    }

    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        refresh();
    }

    /**
     * Registers meters for the counters, peers and details that appeared since the last call, and
     * removes those of peers no longer kept; a no-op before {@link #bindTo}.
     */
    public synchronized void refresh() {
        if (registry == null) {
            return;
        }
        TransportStats stats = transport.stats();
        snapshot = stats;
        takenAt = System.nanoTime();
        Map<String, Meter> seen = new HashMap<>();
        for (String key : stats.totals().keySet()) {
            register(key, tags, s -> s.totals().getOrDefault(key, 0L), seen);
        }
        for (PeerStats peer : stats.peers()) {
            Tags peerTags = tags.and("peer", peer.peer().toString(), "direction", peer.direction().name().toLowerCase(Locale.ROOT));
            for (String key : peer.counters().keySet()) {
                register(key, peerTags, s -> s.peer(peer.peer(), peer.direction())
                        .map(p -> p.counters().getOrDefault(key, 0L)).orElse(0L), seen);
            }
        }
        for (Iterator<Map.Entry<String, Meter>> it = meters.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Meter> e = it.next();
            if (!seen.containsKey(e.getKey())) {
                registry.remove(e.getValue());
                it.remove();
            }
        }
    }

    private void register(String key, Tags base, ToDoubleFunction<TransportStats> read, Map<String, Meter> seen) {
        String[] parts = key.split("\\.", 2);
        TransportCounter counter = TransportCounter.ofLabel(parts[0]);
        if (counter == null) {
            return;
        }
        Tags meterTags = parts.length == 1 ? base
                : base.and(counter == TransportCounter.SENDS_FAILED ? "type" : "code", parts[1]);
        String id = key + meterTags;
        Meter meter = meters.get(id);
        if (meter == null) {
            String name = "stagecrew." + dotted(counter.label());
            ToDoubleFunction<TransportMetrics> value = m -> read.applyAsDouble(m.current());
            meter = counter.isGauge()
                    ? Gauge.builder(name, this, value).tags(meterTags).baseUnit(counter.unit()).register(registry)
                    : FunctionCounter.builder(name, this, value).tags(meterTags).baseUnit(counter.unit()).register(registry);
            meters.put(id, meter);
        }
        seen.put(id, meter);
    }

    /** The latest snapshot, taken again if older than the refresh interval. */
    private TransportStats current() {
        TransportStats stats = snapshot;
        if (stats == null || System.nanoTime() - takenAt > maxAgeNanos) {
            stats = transport.stats();
            snapshot = stats;
            takenAt = System.nanoTime();
        }
        return stats;
    }

    /** {@code framesSent} to {@code frames.sent}. */
    static String dotted(String camel) {
        StringBuilder name = new StringBuilder();
        for (char c : camel.toCharArray()) {
            if (Character.isUpperCase(c)) {
                name.append('.').append(Character.toLowerCase(c));
            } else {
                name.append(c);
            }
        }
        return name.toString();
    }
}
