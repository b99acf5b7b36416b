package org.stagecrew.testing;

import java.time.Duration;
import java.util.Objects;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.UnitBuilder;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/**
 * A {@link UnitBuilder} pre-filled by a {@link Stage}, which tracks the unit it builds so that the
 * stage stops and checks it at the end of the test. Pre-filled: the stage's
 * {@linkplain Stage#config() transport configuration}, the stage's {@linkplain Stage#transport()
 * transport} as parent (opened by {@link #build()} if needed, unless a parent was set), logs in
 * {@link Stage#logDirectory()}, and, for a child JVM, {@code -Dio.netty.leakDetection.level=paranoid}
 * and {@code -D}{@value Stage#STAGE_PROPERTY}{@code =<stage id>}, by which the stage recognises its
 * processes. A thread unit's thread is a daemon thread. Not thread-safe.
 */
public final class StageUnitBuilder {
    private final Stage stage;
    private final UnitBuilder unit;
    private TransportConfig config;
    private final boolean thread;
    private boolean parentSet;

    StageUnitBuilder(Stage stage, UnitBuilder unit, boolean thread) {
        this.stage = stage;
        this.unit = unit;
        this.thread = thread;
        this.config = stage.config();
        unit.logDirectory(stage.logDirectory()).systemProperty("io.netty.leakDetection.level", "paranoid")
                .systemProperty(Stage.STAGE_PROPERTY, stage.id());
    }

    /** See {@link UnitBuilder#name(String)}. */
    public StageUnitBuilder name(String name) {
        unit.name(name);
        return this;
    }

    /** Sets the parent address, replacing the stage's transport; {@code null} for none. See {@link UnitBuilder#parent(Address)}. */
    public StageUnitBuilder parent(Address parent) {
        unit.parent(parent);
        parentSet = true;
        return this;
    }

    /** See {@link UnitBuilder#peers(Address...)}. */
    public StageUnitBuilder peers(Address... peers) {
        unit.peers(peers);
        return this;
    }

    /** See {@link UnitBuilder#arguments(String...)}. */
    public StageUnitBuilder arguments(String... arguments) {
        unit.arguments(arguments);
        return this;
    }

    /** Replaces the unit's transport configuration (default: {@link Stage#config()}). */
    public StageUnitBuilder transportConfig(TransportConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        return this;
    }

    /** Sets the I/O mode of the unit's transport. */
    public StageUnitBuilder ioMode(IoMode mode) {
        this.config = config.toBuilder().ioMode(mode).build();
        return this;
    }

    /** Binds the unit's transport to a fixed file name in its socket directory (default: a generated name). */
    public StageUnitBuilder fileName(String fileName) {
        this.config = config.toBuilder().fileName(fileName).build();
        return this;
    }

    /** See {@link UnitBuilder#jvmOptions(String...)}. */
    public StageUnitBuilder jvmOptions(String... options) {
        unit.jvmOptions(options);
        return this;
    }

    /**
     * See {@link UnitBuilder#systemProperty(String, String)}; overrides the stage's leak detection
     * level too.
     *
     * @throws IllegalArgumentException for {@value Stage#STAGE_PROPERTY}, which the stage sets
     */
    public StageUnitBuilder systemProperty(String key, String value) {
        if (Stage.STAGE_PROPERTY.equals(key)) {
            throw new IllegalArgumentException(key + " is set by the stage, to recognise its processes; choose another property");
        }
        unit.systemProperty(key, value);
        return this;
    }

    /** See {@link UnitBuilder#startTimeout(Duration)}. */
    public StageUnitBuilder startTimeout(Duration timeout) {
        unit.startTimeout(timeout);
        return this;
    }

    /**
     * Creates the unit, which the stage now tracks, without starting it.
     *
     * @throws IllegalStateException if the stage is closed
     * @see UnitBuilder#build()
     */
    public Concurrency build() {
        if (!parentSet) {
            unit.parent(stage.transport().address());
        }
        Concurrency built = unit.transportConfig(config).build();
        if (thread) {
            built = new StageThreadUnit(built);
        }
        stage.track(built);
        return built;
    }

    /**
     * Creates and starts the unit; returns once it is ready and its address known.
     *
     * @see Concurrency#start()
     */
    public Concurrency start() {
        return build().start();
    }
}
