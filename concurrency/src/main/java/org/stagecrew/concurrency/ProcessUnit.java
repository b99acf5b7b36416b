package org.stagecrew.concurrency;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * A unit in a child JVM ({@link UnitMain}) started with this JVM's {@code java} and class path. Its
 * standard output and error go to a log file. {@link #start()} waits for the child's READY message
 * on a handshake transport, so the unit's address is known when it returns. A daemon is started
 * through {@code setsid} where that exists, with standard input from {@code /dev/null}.
 */
final class ProcessUnit implements Concurrency {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessUnit.class);
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);
    private static final int LOG_TAIL_LINES = 30;

    private final UnitBuilder spec;
    private volatile Process process;
    private volatile Address address;
    private volatile Address controlAddress;
    private volatile Path logFile;

    ProcessUnit(UnitBuilder spec) {
        this.spec = spec;
    }

    @Override
    public String name() {
        return spec.name;
    }

    @Override
    public synchronized Concurrency start() {
        if (process != null) {
            throw new IllegalStateException("unit " + spec.name + " was already started");
        }
        TransportConfig handshakeConfig = spec.transportConfig.toBuilder().fileName(null).fileNamePrefix("stagecrew-start-").build();
        try (Transport handshake = Transport.open(handshakeConfig)) {
            logFile = prepareLog();
            UnitSpec child = new UnitSpec(spec.taskClass.getName(), spec.name, spec.kind == UnitBuilder.Kind.DAEMON, spec.parent,
                    spec.peers, spec.arguments, handshake.address(), ProcessHandle.current().pid(), spec.transportConfig);
            ProcessBuilder builder = new ProcessBuilder(command(child)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            if (spec.kind == UnitBuilder.Kind.DAEMON) {
                builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            try {
                process = builder.start();
            } catch (IOException e) {
                throw new UnitException("unit " + spec.name + " could not start " + builder.command().get(0) + ": " + e.getMessage(), e);
            }
            awaitReady(handshake);
        }
        LOG.debug("unit {} started at {} (pid {}), log {}", spec.name, address, process.pid(), logFile);
        return this;
    }

    private void awaitReady(Transport handshake) {
        long deadline = System.nanoTime() + spec.startTimeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                process.destroyForcibly();
                waitFor(KILL_WAIT);
                throw new UnitException("unit " + spec.name + " (pid " + process.pid() + ") was not ready within "
                        + spec.startTimeout.toMillis() + " ms and was killed" + logTail());
            }
            try (Frame frame = handshake.receive(Duration.ofNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100))))) {
                if (frame != null) {
                    String[] ready = frame.payload().toString(StandardCharsets.UTF_8).split(" ");
                    if (ready.length == 3 && Control.READY.equals(ready[0])) {
                        address = frame.sender();
                        controlAddress = UnitSpec.decodeAddress(ready[1]);
                        return;
                    }
                    LOG.warn("unit {}: ignored an unexpected frame from {} while waiting for READY", spec.name, frame.sender());
                }
            }
            if (!process.isAlive()) {
                throw new UnitException("unit " + spec.name + " (pid " + process.pid() + ") exited with code "
                        + process.exitValue() + " before it was ready" + logTail());
            }
        }
    }

    private List<String> command(UnitSpec child) {
        List<String> command = new ArrayList<>();
        if (spec.kind == UnitBuilder.Kind.DAEMON) {
            for (String setsid : List.of("/usr/bin/setsid", "/bin/setsid")) {
                if (Files.isExecutable(Path.of(setsid))) {
                    command.add(setsid); // a new session: no controlling terminal, no signals from ours
                    break;
                }
            }
        }
        command.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (Runtime.version().feature() >= 22 && spec.jvmOptions.stream().noneMatch(o -> o.startsWith("--enable-native-access"))) {
            // The child loads Netty's epoll/io_uring libraries: without this, Java 22+ warns (and later refuses).
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(spec.jvmOptions);
        for (String inherited : List.of("io.netty.leakDetection.level", "io.netty.leakDetection.targetRecords", "io.netty.noUnsafe")) {
            String value = System.getProperty(inherited);
            if (value != null && !spec.systemProperties.containsKey(inherited)) {
                command.add("-D" + inherited + "=" + value);
            }
        }
        for (Map.Entry<String, String> property : spec.systemProperties.entrySet()) {
            command.add("-D" + property.getKey() + "=" + property.getValue());
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(UnitMain.class.getName());
        command.add(child.encode());
        return command;
    }

    private Path prepareLog() {
        Path directory = spec.logDirectory != null ? spec.logDirectory : spec.transportConfig.socketDirectory().resolve("logs");
        try {
            Files.createDirectories(directory);
            return directory.resolve(spec.name + ".log");
        } catch (IOException e) {
            throw new UnitException("unit " + spec.name + " could not create its log directory " + directory + ": " + e, e);
        }
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            List<String> tail = lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size());
            return "; last lines of its log " + logFile + ":\n  " + String.join("\n  ", tail);
        } catch (IOException e) {
            return "; its log " + logFile + " could not be read: " + e;
        }
    }

    @Override
    public Address address() {
        Address a = address;
        if (a == null) {
            throw new IllegalStateException("unit " + spec.name + " has not been started");
        }
        return a;
    }

    @Override
    public boolean join(Duration timeout) {
        return process == null || waitFor(timeout);
    }

    private boolean waitFor(Duration timeout) {
        try {
            return process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    @Override
    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    @Override
    public boolean stop(Duration timeout) {
        if (!isAlive()) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!Daemons.requestStop(controlAddress, spec.transportConfig, timeout)) {
            LOG.info("unit {} did not take the STOP message; sending SIGTERM", spec.name);
            process.destroy();
        }
        if (waitFor(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
            return true;
        }
        LOG.warn("unit {} (pid {}) did not stop within {} ms; killing it", spec.name, process.pid(), timeout.toMillis());
        kill();
        return false;
    }

    @Override
    public void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.destroyForcibly();
        if (!waitFor(KILL_WAIT)) {
            LOG.error("unit {} (pid {}) survived SIGKILL for {} s", spec.name, p.pid(), KILL_WAIT.toSeconds());
            return;
        }
        // A killed JVM cannot unlink its socket files; do it for it, so that no stale file is left behind.
        for (Address a : new Address[] {address, controlAddress}) {
            if (a != null && !a.isAbstract()) {
                try {
                    Files.deleteIfExists(a.toPath());
                } catch (IOException e) {
                    LOG.warn("unlink failed for {}: {}", a, e.toString());
                }
            }
        }
    }

    @Override
    public OptionalInt exitCode() {
        Process p = process;
        return p == null || p.isAlive() ? OptionalInt.empty() : OptionalInt.of(p.exitValue());
    }

    @Override
    public Optional<Throwable> failure() {
        OptionalInt code = exitCode();
        if (code.isEmpty() || code.getAsInt() == 0) {
            return Optional.empty();
        }
        return Optional.of(new UnitException("unit " + spec.name + " (pid " + process.pid() + ") exited with code "
                + code.getAsInt() + logTail()));
    }

    @Override
    public Optional<Path> logFile() {
        return Optional.ofNullable(logFile);
    }

    @Override
    public void close() {
        if (spec.kind != UnitBuilder.Kind.DAEMON) {
            stop(DEFAULT_STOP_TIMEOUT);
        }
    }

    @Override
    public String toString() {
        return "ProcessUnit{" + spec.name + (process != null ? ", pid " + process.pid() : "") + (address != null ? ", " + address : "") + '}';
    }
}
