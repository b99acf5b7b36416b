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
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 *
 * <p>States: not started ({@code process} null), starting (process alive, no control address yet),
 * running, stopping (asked to stop, still alive), ended. {@link #stop} sends STOP over the control
 * socket once that is known and SIGTERM before; {@link #kill} sends SIGKILL in every state. A
 * failed {@link #start()} leaves no child behind. When the child ends, however, its socket files are
 * unlinked if they are still the ones it created.
 */
final class ProcessUnit implements Concurrency {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessUnit.class);
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);
    private static final int LOG_TAIL_LINES = 30;

    private final UnitBuilder spec;
    /** Where the child binds: the builder chose the file name, so it is known before the child starts. */
    private final Address expectedAddress;
    private volatile Process process;
    private volatile Address address;
    private volatile Address controlAddress;
    private volatile Path logFile;
    /** The unit's socket files as the child created them (recorded at READY), to unlink after it ends. */
    private volatile List<SocketFile> files = List.of();
    /** Completes once the child has ended and its files are dealt with. */
    private volatile CompletableFuture<Void> ended;
    private volatile boolean stopRequested;
    private final CompletableFuture<UnitExit> exit = new CompletableFuture<>();
    private volatile boolean startCalled;
    /** Makes launching the child and a stop or kill that races it mutually exclusive. */
    private final Object launch = new Object();

    ProcessUnit(UnitBuilder spec, Address expectedAddress) {
        this.spec = spec;
        this.expectedAddress = expectedAddress;
    }

    @Override
    public String name() {
        return spec.name;
    }

    @Override
    public Concurrency start() {
        synchronized (launch) {
            if (startCalled) {
                throw new IllegalStateException("unit " + spec.name + " was already started");
            }
            startCalled = true;
        }
        // A child JVM that starts on a busy machine may take seconds between its connect and its hello: the
        // handshake waits for the hello as long as for the whole start, not the usual hello timeout.
        TransportConfig handshakeConfig = spec.transportConfig.toBuilder().fileName(null).fileNamePrefix("stagecrew-start-")
                .helloTimeout(spec.startTimeout).build();
        try (Transport handshake = Transport.open(handshakeConfig)) {
            logFile = prepareLog();
            UnitSpec child = new UnitSpec(spec.taskClass.getName(), spec.name, spec.kind == UnitBuilder.Kind.DAEMON, spec.parent,
                    spec.peers, spec.arguments, handshake.address(), ProcessHandle.current().pid(), spec.transportConfig);
            ProcessBuilder builder = new ProcessBuilder(command(child)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            if (spec.kind == UnitBuilder.Kind.DAEMON) {
                builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            Process started;
            synchronized (launch) {
                if (stopRequested) {
                    cds.onExit().run();
                    throw new UnitException("unit " + spec.name + " was stopped before its process started");
                }
                try {
                    started = builder.start();
                } catch (IOException e) {
                    cds.onExit().run();
                    throw new UnitException("unit " + spec.name + " could not start " + builder.command().get(0) + ": " + e.getMessage(), e);
                }
                long launched = System.nanoTime();
                ClassDataSharing.Plan sharing = cds;
                ended = started.onExit().thenRun(this::unlinkFilesOfEndedChild).thenRun(sharing.onExit())
                        .whenComplete((ignored, error) -> completeExit(started, launched));
                process = started;
            }
            try {
                awaitReady(handshake);
            } catch (RuntimeException | Error e) {
                // Whatever went wrong (timeout, interrupt, death, a stop racing the start): no child outlives a failed start.
                boolean interrupted = Thread.interrupted();
                killAndReap();
                if (interrupted) {
                    Thread.currentThread().interrupt();
                    throw new UnitException("start of unit " + spec.name + " was interrupted while it waited for the child (pid "
                            + started.pid() + ") to be ready; the child was killed", e);
                }
                throw e;
            }
        }
        LOG.debug("unit {} started at {} (pid {}), log {}", spec.name, address, process.pid(), logFile);
        UnitEvents.started(spec.name, spec.kind, address, process.pid(), spec.parent);
        return this;
    }

    private void awaitReady(Transport handshake) {
        long deadline = System.nanoTime() + spec.startTimeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                killAndReap();
                throw new UnitException("unit " + spec.name + " (pid " + process.pid() + ") was not ready within "
                        + spec.startTimeout.toMillis() + " ms and was killed" + logTail());
            }
            try (Frame frame = handshake.receive(Duration.ofNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100))))) {
                if (frame != null) {
                    String[] ready = frame.payload().toString(StandardCharsets.UTF_8).split(" ");
                    if (ready.length == 3 && Control.READY.equals(ready[0])) {
                        Address control = UnitSpec.decodeAddress(ready[1]);
                        files = SocketFile.record(frame.sender(), control);
                        address = frame.sender();
                        controlAddress = control;
                        return;
                    }
                    LOG.warn("unit {}: ignored an unexpected frame from {} while waiting for READY", spec.name, frame.sender());
                }
            }
            if (!process.isAlive()) {
                throw new UnitException("unit " + spec.name + " (pid " + process.pid() + ") "
                        + (stopRequested ? "was stopped" : "exited with code " + process.exitValue()) + " before it was ready" + logTail());
            }
        }
    }

    /** SIGKILL, then waits for the process and its file clean-up; for failed starts and {@link #kill()}. */
    private void killAndReap() {
        Process p = process;
        p.destroyForcibly();
        if (!waitFor(KILL_WAIT)) {
            LOG.error("unit {} (pid {}) survived SIGKILL for {} s", spec.name, p.pid(), KILL_WAIT.toSeconds());
            return;
        }
        try {
            ended.get(KILL_WAIT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("unit {}: removing its socket files did not finish: {}", spec.name, e.toString());
        }
    }

    /**
     * Runs once the child has ended, however (its own exit, our kill, a kill from outside): a killed
     * JVM cannot unlink its socket files, so we do, but only files that are still the ones it
     * created (same file key and modification time), never those of a newer unit at the address.
     * A child that ended before READY had no recorded files; if the builder made its file name up,
     * no one else uses that name, so a file left there is its own.
     */
    private void unlinkFilesOfEndedChild() {
        List<SocketFile> recorded = files;
        if (recorded.isEmpty() && address == null && spec.generatedFileName && !expectedAddress.isAbstract()) {
            for (Address a : List.of(expectedAddress, Control.controlAddress(expectedAddress))) {
                SocketFile.unlinkIfSocket(a.toPath());
            }
            return;
        }
        for (SocketFile file : recorded) {
            file.unlinkIfUnchanged();
        }
    }

    private void completeExit(Process ended, long launched) {
        Duration uptime = Duration.ofNanos(System.nanoTime() - launched);
        int code = ended.exitValue();
        UnitExit e = UnitExit.ofProcess(spec.name, code, code == 0 ? Optional.empty() : failure(), uptime);
        UnitEvents.exited(e, spec.kind, address, ended.pid(), spec.parent);
        exit.complete(e);
    }

    @Override
    public CompletableFuture<UnitExit> onExit() {
        return exit.thenApply(e -> e);
    }

    @Override
    public OptionalLong pid() {
        Process p = process;
        return p == null ? OptionalLong.empty() : OptionalLong.of(p.pid());
    }

    /** The class-data sharing of this start; see {@link ClassDataSharing}. */
    private ClassDataSharing.Plan cds = ClassDataSharing.Plan.NONE;

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
        List<String> options = new ArrayList<>();
        if (spec.inheritJvmOptions) {
            options.addAll(InheritedJvmOptions.ofThisJvm());
        }
        options.addAll(spec.jvmOptions);
        if (spec.classDataSharing) {
            cds = ClassDataSharing.plan(ClassDataSharing.directory(TransportConfig.defaults().socketDirectory()),
                    System.getProperty("java.class.path"), options);
            command.addAll(cds.options());
        }
        command.addAll(options);
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
            return UnitLogFiles.create(directory, spec.name, java.time.Instant.now(), spec.logsKept);
        } catch (IOException e) {
            throw new UnitException("unit " + spec.name + " could not create its log file in " + directory + ": " + e, e);
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
        return process != null && waitFor(timeout);
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
        Process p = process;
        return p != null && p.isAlive();
    }

    @Override
    public boolean stop(Duration timeout) {
        Process p = launched();
        if (p == null || !p.isAlive()) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Address control = controlAddress;
        if (control == null) {
            LOG.info("unit {} is not ready yet; sending SIGTERM", spec.name);
            p.destroy();
        } else if (!Daemons.requestStop(control, spec.transportConfig, timeout)) {
            LOG.info("unit {} did not take the STOP message; sending SIGTERM", spec.name);
            p.destroy();
        }
        if (waitFor(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
            return true;
        }
        LOG.warn("unit {} (pid {}) did not stop within {} ms; killing it", spec.name, p.pid(), timeout.toMillis());
        kill();
        return false;
    }

    @Override
    public void kill() {
        if (launched() != null) {
            killAndReap();
        }
    }

    /** The child process, or null if there is none yet; marks a start in progress to give up before it launches one. */
    private Process launched() {
        synchronized (launch) {
            if (startCalled) {
                stopRequested = true;
            }
            return process;
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
