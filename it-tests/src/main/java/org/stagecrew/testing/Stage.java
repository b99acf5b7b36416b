package org.stagecrew.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.opentest4j.AssertionFailedError;
import org.stagecrew.concurrency.Concurrency;
import org.stagecrew.concurrency.Daemons;
import org.stagecrew.concurrency.Task;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportConfig;

/**
 * The fixture of one test: a private socket directory, the transports opened in it and the units
 * started from it, all of which {@link #close()} stops, closes and checks.
 *
 * <p>{@link StageExtension} gives each test its own stage as a parameter and closes it after the
 * test; without JUnit's extension model, open one with {@link #builder(String)} in a
 * try-with-resources block.
 *
 * <p>What {@link #close()} does, in order: stops every unit this stage started (each gets
 * {@link #stopTimeout()} to stop gracefully, then is killed; daemons too), stops every
 * {@linkplain #adopt adopted} daemon, closes every transport the stage opened, then checks and
 * fails with an {@link AssertionFailedError} naming each problem if
 * <ul>
 *   <li>a child process of this JVM that appeared during the stage's life is still alive, or any
 *       other process still holds a socket in the stage's directory (Linux) — each is killed;</li>
 *   <li>a socket file is left in the socket directory (which is then deleted with its content);</li>
 *   <li>a log in {@link #logDirectory()} contains Netty's {@value #LEAK_MARKER} report.</li>
 * </ul>
 *
 * <p>Thread-safe.
 */
public final class Stage implements AutoCloseable {

    /** Default time each unit has to stop gracefully before it is killed: 5 s. */
    public static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(5);

    /** What Netty's leak detector writes at the start of every leak report: {@value}. */
    public static final String LEAK_MARKER = "LEAK:";

    /** Lines of each log that {@link #logTails()} shows: {@value}. */
    public static final int LOG_TAIL_LINES = 40;

    /** Longest socket directory path, in bytes, that leaves room in {@code sun_path} for unit and control socket names. */
    static final int MAX_DIRECTORY_BYTES = Address.MAX_PATH_BYTES - 44;

    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private final String name;
    private final Path socketDirectory;
    private final Path logDirectory;
    private final IoMode ioMode;
    private final Duration stopTimeout;
    private final TransportConfig config;
    private final Set<Long> descendantsAtOpen;
    private final List<Concurrency> units = new CopyOnWriteArrayList<>();
    private final List<Transport> transports = new CopyOnWriteArrayList<>();
    private final List<Address> adopted = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Transport primary;

    Stage(StageBuilder b) {
        this.name = b.name;
        this.ioMode = b.ioMode;
        this.stopTimeout = b.stopTimeout;
        this.descendantsAtOpen = Processes.descendants();
        this.socketDirectory = StageFiles.createPrivateDirectory(b.socketRoot, "sc-");
        int bytes = socketDirectory.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_DIRECTORY_BYTES) {
            deleteQuietly(socketDirectory);
            throw new IllegalStateException("socket directory " + socketDirectory + " is " + bytes + " bytes long, more than the "
                    + MAX_DIRECTORY_BYTES + " that leave room for socket names in sun_path (" + (Address.MAX_PATH_BYTES + 1)
                    + " bytes); choose a shorter socketRoot");
        }
        this.logDirectory = StageFiles.freshDirectory(b.logDirectory);
        this.config = TransportConfig.builder().socketDirectory(socketDirectory).ioMode(ioMode).build();
        Hygiene.opened(this);
    }

    /**
     * Returns a builder of a stage used outside {@link StageExtension}.
     *
     * @param name names the stage in reports and its log directory; a plain file name
     */
    public static StageBuilder builder(String name) {
        return new StageBuilder(name);
    }

    /** The stage's name, e.g. {@code EchoIT.echoes}. */
    public String name() {
        return name;
    }

    /** The private socket directory (mode 0700, a short path), deleted by {@link #close()}. */
    public Path socketDirectory() {
        return socketDirectory;
    }

    /** Where the logs of the stage's process units go; kept after the test. */
    public Path logDirectory() {
        return logDirectory;
    }

    /** The default I/O mode of this stage's transports and units. */
    public IoMode ioMode() {
        return ioMode;
    }

    /** How long each unit has to stop gracefully when the stage closes. */
    public Duration stopTimeout() {
        return stopTimeout;
    }

    /** The stage's transport configuration: its socket directory and I/O mode, every other option default. */
    public TransportConfig config() {
        return config;
    }

    /** {@link #config()} with another I/O mode. */
    public TransportConfig config(IoMode mode) {
        return config.toBuilder().ioMode(Objects.requireNonNull(mode, "mode")).build();
    }

    /** The address a socket file named {@code fileName} in the stage's directory has, e.g. for a unit bound with a fixed name. */
    public Address address(String fileName) {
        return Address.of(socketDirectory.resolve(fileName));
    }

    /**
     * The stage's own transport, opened with {@link #config()} on the first call and returned by
     * every later call. Units started from this stage get its address as their parent.
     */
    public Transport transport() {
        Transport t = primary;
        if (t == null) {
            synchronized (this) {
                if (primary == null) {
                    primary = openTransport(config);
                }
                t = primary;
            }
        }
        return t;
    }

    /** Opens another transport with {@link #config(IoMode)}; the stage closes it. */
    public Transport openTransport(IoMode mode) {
        return openTransport(config(mode));
    }

    /** Opens another transport with any configuration; the stage closes it. */
    public Transport openTransport(TransportConfig config) {
        requireOpen();
        Transport t = Transport.open(config);
        transports.add(t);
        return t;
    }

    /** A thread unit running {@code task}, pre-configured like {@link #process}. */
    public StageUnitBuilder thread(Task task) {
        return new StageUnitBuilder(this, Concurrency.thread(task));
    }

    /**
     * A process unit running {@code task} in a child JVM, pre-configured: the stage's transport
     * configuration, the stage's {@linkplain #transport() transport} as parent, logs in
     * {@link #logDirectory()}, Netty leak detection at PARANOID.
     */
    public StageUnitBuilder process(Class<? extends Task> task) {
        return new StageUnitBuilder(this, Concurrency.process(task));
    }

    /** A daemon unit, pre-configured like {@link #process}; the stage stops it too. */
    public StageUnitBuilder daemon(Class<? extends Task> task) {
        return new StageUnitBuilder(this, Concurrency.daemon(task));
    }

    /**
     * Makes the stage responsible for a daemon it did not start (one started by a unit), known by
     * its address: {@link #close()} stops it with {@link Daemons#stop} if its socket file is still
     * there.
     */
    public void adopt(Address daemon) {
        adopted.add(Objects.requireNonNull(daemon, "daemon"));
    }

    /** The units built from this stage so far, in order. */
    public List<Concurrency> units() {
        return List.copyOf(units);
    }

    /**
     * The last {@value #LOG_TAIL_LINES} lines of every log in {@link #logDirectory()}, each under a
     * header with the unit's state; empty if there are none.
     */
    public String logTails() {
        StringBuilder out = new StringBuilder();
        for (Path log : StageFiles.logFiles(logDirectory)) {
            out.append("--- ").append(describeLog(log)).append(", last ").append(LOG_TAIL_LINES).append(" lines:\n");
            for (String line : StageFiles.tail(log, LOG_TAIL_LINES)) {
                out.append("  ").append(line).append('\n');
            }
        }
        return out.toString();
    }

    private String describeLog(Path log) {
        for (Concurrency unit : units) {
            if (unit.logFile().map(log::equals).orElse(false)) {
                String state = unit.isAlive() ? "running" : "ended, exit code " + unit.exitCode().orElse(-1);
                return "unit " + unit.name() + " (" + state + "), log " + log;
            }
        }
        return "log " + log;
    }

    void track(Concurrency unit) {
        requireOpen();
        units.add(unit);
    }

    private void requireOpen() {
        if (closed.get()) {
            throw new IllegalStateException("stage " + name + " is closed");
        }
    }

    /**
     * Stops, closes and checks everything, as the class documentation describes. Idempotent: only
     * the first call checks.
     *
     * @throws AssertionFailedError naming every process, socket file and leak report left behind,
     *     with the tails of the units' logs
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<String> notes = new ArrayList<>();
        List<String> problems = new ArrayList<>(Teardown.stopUnits(units, stopTimeout, notes));
        for (Address daemon : adopted) {
            if (Files.exists(daemon.toPath(), LinkOption.NOFOLLOW_LINKS) && !Daemons.stop(daemon, config, stopTimeout)) {
                notes.add("adopted daemon at " + daemon + " did not stop within " + stopTimeout.toMillis() + " ms");
            }
        }
        for (Transport t : transports) {
            try {
                t.close();
            } catch (RuntimeException e) {
                problems.add("closing transport " + t.address() + " failed: " + e);
            }
        }
        problems.addAll(Teardown.leftoverProcesses(descendantsAtOpen, socketDirectory, KILL_WAIT));
        for (Path socket : StageFiles.socketFiles(socketDirectory)) {
            problems.add("socket file left behind: " + socket);
        }
        deleteQuietly(socketDirectory);
        for (Path log : StageFiles.logFiles(logDirectory)) {
            for (String report : StageFiles.leakReports(log, LEAK_MARKER, 6)) {
                problems.add("Netty reported a leak in " + log + ":\n    " + report);
            }
        }
        Hygiene.closed(this);
        if (!notes.isEmpty()) {
            System.err.println("[stagecrew] stage " + name + ": " + String.join("; ", notes));
        }
        if (!problems.isEmpty()) {
            StringBuilder message = new StringBuilder("stage ").append(name).append(" left ").append(problems.size())
                    .append(" problem(s) behind:");
            problems.forEach(p -> message.append("\n  - ").append(p));
            notes.forEach(n -> message.append("\n  (note) ").append(n));
            String tails = logTails();
            if (!tails.isEmpty()) {
                message.append('\n').append(tails);
            }
            throw new AssertionFailedError(message.toString());
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            StageFiles.deleteRecursively(dir);
        } catch (IOException e) {
            System.err.println("[stagecrew] could not delete " + dir + ": " + e);
        }
    }

    @Override
    public String toString() {
        return "Stage{" + name + ", " + socketDirectory + ", " + ioMode + ", " + units.size() + " unit(s)}";
    }
}
