package org.stagecrew.concurrency;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import org.stagecrew.transport.Address;

/** A unit that forwards every call, for tests that change one. */
class ForwardingUnit implements Concurrency {
    private final Concurrency unit;

    ForwardingUnit(Concurrency unit) {
        this.unit = unit;
    }

    @Override
    public String name() {
        return unit.name();
    }

    @Override
    public Concurrency start() {
        unit.start();
        return this;
    }

    @Override
    public Address address() {
        return unit.address();
    }

    @Override
    public boolean join(Duration timeout) {
        return unit.join(timeout);
    }

    @Override
    public boolean isAlive() {
        return unit.isAlive();
    }

    @Override
    public boolean stop(Duration timeout) {
        return unit.stop(timeout);
    }

    @Override
    public void kill() {
        unit.kill();
    }

    @Override
    public OptionalInt exitCode() {
        return unit.exitCode();
    }

    @Override
    public Optional<Throwable> failure() {
        return unit.failure();
    }

    @Override
    public CompletableFuture<UnitExit> onExit() {
        return unit.onExit();
    }

    @Override
    public OptionalLong pid() {
        return unit.pid();
    }

    @Override
    public Optional<Path> logFile() {
        return unit.logFile();
    }

    @Override
    public void close() {
        unit.close();
    }
}
