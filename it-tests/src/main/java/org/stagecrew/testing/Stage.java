package org.stagecrew.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
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
 * <h2>States</h2>
 * A stage is <em>open</em> from {@link StageBuilder#open()} until the first call of {@link #close()},
 * and <em>closed</em> from then on, whether or not that call has returned or thrown.
 * <ul>
 *   <li>The accessors ({@link #name()}, {@link #socketDirectory()}, {@link #logDirectory()},
 *       {@link #ioMode()}, {@link #stopTimeout()}, {@link #config()}, {@link #address(String)},
 *       {@link #units()}, {@link #logTails()}, {@link #isOpen()}) answer in every state; once the
 *       stage is closed its socket directory no longer exists, its logs are kept.</li>
 *   <li>{@link #transport()}, {@link #openTransport}, {@link #adopt(Address)} and the
 *       {@link StageUnitBuilder#build() build()}/{@link StageUnitBuilder#start() start()} of a unit
 *       builder work while the stage is open and throw {@link IllegalStateException} once it is
 *       closed; a transport opened while {@code close()} begins is closed again before that is thrown.
 *       {@link #thread}, {@link #process} and {@link #daemon} return a builder in every state.</li>
 *   <li>{@link #close()} on an open stage runs the teardown below; on a closed stage it returns at
 *       once and checks nothing again.</li>
 * </ul>
 * A unit built before {@code close()} begins but started while it runs is not stopped by it: start
 * units from the test, not from threads that outlive it.
 *
 * <h2>Teardown</h2>
 * What {@link #close()} does, in order, each step even when an earlier one threw:
 * <ol>
 *   <li>stops every unit this stage started, at once: each gets {@link #stopTimeout()} to stop
 *       gracefully, then is killed (daemons too); a unit still alive after its kill (a thread unit
 *       whose task ignores both the stop request and interrupts) is a problem;</li>
 *   <li>stops every {@linkplain #adopt adopted} daemon that is still bound to its address;</li>
 *   <li>closes every transport the stage opened;</li>
 *   <li>waits (up to 10 s) for the processes it stopped to exit, since a daemon unlinks its socket
 *       file before its JVM has ended;</li>
 *   <li>checks and fails with an {@link AssertionFailedError} naming each problem if
 *   <ul>
 *     <li>a process this stage started (a process or daemon unit, or a process one of them started)
 *         is still alive, or any other process still holds a socket in the stage's directory (Linux)
 *         — each is killed. A new child process of this JVM that no stage started (a test's own
 *         {@code ProcessBuilder}) counts too, but only if no other stage was open at any time during
 *         this one's life: with parallel tests or a class-level stage beside per-test ones, it may
 *         belong to another test, so it is left alone with a note, for {@link Hygiene} to report at
 *         the end of the suite. Processes of other stages are never touched;</li>
 *     <li>a socket file is left in the socket directory (which is then deleted with its content);</li>
 *     <li>a log in {@link #logDirectory()} contains Netty's {@value #LEAK_MARKER} report;</li>
 *     <li>a step threw (attached to the failure as a suppressed exception).</li>
 *   </ul></li>
 * </ol>
 *
 * <h2>Frames in flight at close</h2>
 * Units are stopped first, while the stage's transports are still open: what a unit's task sent
 * before it ended is flushed by the unit before it closes its own transport, and arrives in the
 * stage's transports. Nobody takes frames from them any more, though: closing the stage's
 * transports releases every frame received and not yet taken, without delivering or reporting it.
 * Sends from the stage's transports that are not yet written when they close fail with
 * {@code TransportClosedException} through their futures. Frames a unit had received but its task
 * had not taken are released when its transport closes, and a unit that has to be killed loses
 * whatever it held, as under {@code kill -9}. A test that accounts for every frame therefore
 * receives them, and {@linkplain Transport#flush flushes} its own sends, before it returns.
 *
 * <p>Each process and daemon unit built by the stage carries {@code -D}{@value #STAGE_PROPERTY}
 * {@code =<stage id>} on its command line: that is how the stage tells its processes from those of
 * other stages. A thread unit runs in a daemon thread, so a task that never returns cannot keep the
 * JVM alive.
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

    /**
     * System property that every process and daemon unit of a stage gets, with the stage's id as
     * its value, so that the stage can tell its processes from those of other stages: {@value}.
     */
    public static final String STAGE_PROPERTY = "stagecrew.testing.stage";

    /** How the {@value #STAGE_PROPERTY} property begins on a command line. */
    static final String MARKER_PREFIX = "-D" + STAGE_PROPERTY + "=";

    private final String name;
    private final Path socketDirectory;
    private final Path logDirectory;
    private final IoMode ioMode;
    private final Duration stopTimeout;
    private final TransportConfig config;
    private final Set<Long> descendantsAtOpen;
    private final String id;
    private final List<Concurrency> units = new CopyOnWriteArrayList<>();
    private final List<Transport> transports = new CopyOnWriteArrayList<>();
    private final List<Address> adopted = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private boolean closed; // guarded by lock
    private volatile Transport primary;

    Stage(StageBuilder b) {
        this.name = b.name;
        this.ioMode = b.ioMode;
        this.stopTimeout = b.stopTimeout;
        this.descendantsAtOpen = Processes.descendants();
        // Fixed width after the pid, so that no stage's id is a prefix of another's on a command line.
        this.id = ProcessHandle.current().pid() + "-" + String.format("%016x", ThreadLocalRandom.current().nextLong());
        this.socketDirectory = StageFiles.createPrivateDirectory(b.socketRoot, "sc-");
        int bytes = socketDirectory.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_DIRECTORY_BYTES) {
            StageFiles.deleteQuietly(socketDirectory);
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
     *
     * @throws IllegalStateException if the stage is closed
     */
    public Transport transport() {
        requireOpen();
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

    /**
     * Opens another transport with {@link #config(IoMode)}; the stage closes it.
     *
     * @throws IllegalStateException if the stage is closed
     */
    public Transport openTransport(IoMode mode) {
        return openTransport(config(mode));
    }

    /**
     * Opens another transport with any configuration; the stage closes it.
     *
     * @throws IllegalStateException if the stage is closed
     */
    public Transport openTransport(TransportConfig config) {
        requireOpen();
        Transport t = Transport.open(config);
        synchronized (lock) {
            if (!closed) {
                transports.add(t);
                return t;
            }
        }
        t.close();
        throw new IllegalStateException("stage " + name + " is closed");
    }

    /**
     * A thread unit running {@code task} in a daemon thread of this JVM, pre-configured like
     * {@link #process} (the stage's transport configuration and transport as parent).
     */
    public StageUnitBuilder thread(Task task) {
        return new StageUnitBuilder(this, Concurrency.thread(task), true);
    }

    /**
     * A process unit running {@code task} in a child JVM, pre-configured: the stage's transport
     * configuration, the stage's {@linkplain #transport() transport} as parent, logs in
     * {@link #logDirectory()}, Netty leak detection at PARANOID.
     */
    public StageUnitBuilder process(Class<? extends Task> task) {
        return new StageUnitBuilder(this, Concurrency.process(task), false);
    }

    /** A daemon unit, pre-configured like {@link #process}; the stage stops it too. */
    public StageUnitBuilder daemon(Class<? extends Task> task) {
        return new StageUnitBuilder(this, Concurrency.daemon(task), false);
    }

    /**
     * Makes the stage responsible for a daemon it did not start (one started by a unit), known by
     * its address, a socket file or a Linux abstract name: {@link #close()} stops it with
     * {@link Daemons#stop} if something is still bound to that address, and waits for its process
     * to exit.
     *
     * @throws IllegalStateException if the stage is closed
     */
    public void adopt(Address daemon) {
        Objects.requireNonNull(daemon, "daemon");
        synchronized (lock) {
            requireOpen();
            adopted.add(daemon);
        }
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

    /** Whether the stage is open: {@link #close()} has not been called. */
    public boolean isOpen() {
        synchronized (lock) {
            return !closed;
        }
    }

    /** The stage's id, the value of {@value #STAGE_PROPERTY} on its units' command lines. */
    String id() {
        return id;
    }

    void track(Concurrency unit) {
        synchronized (lock) {
            requireOpen();
            units.add(unit);
        }
    }

    private void requireOpen() {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("stage " + name + " is closed");
            }
        }
    }

    /**
     * Stops, closes and checks everything, as the class documentation describes. Idempotent: only
     * the first call does anything.
     *
     * @throws AssertionFailedError naming every process, socket file and leak report left behind
     *     and every teardown step that threw, with the tails of the units' logs
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Teardown teardown = new Teardown(name);
        String marker = MARKER_PREFIX + id;
        try {
            teardown.step("finding the processes of this stage's units", () -> teardown.stopping(Processes.marked(marker)));
            teardown.step("stopping the units", () -> teardown.stopUnits(units, stopTimeout));
            for (Address daemon : adopted) {
                teardown.step("stopping adopted daemon " + daemon, () -> teardown.stopAdopted(daemon, config, stopTimeout));
            }
            for (Transport t : transports) {
                teardown.step("closing transport " + t.address(), t::close);
            }
            teardown.step("waiting for the stopped processes to exit", teardown::awaitStoppedProcesses);
            teardown.step("looking for leftover processes",
                    () -> teardown.leftoverProcesses(marker, descendantsAtOpen, Hygiene.wasAlone(this), socketDirectory));
            teardown.step("looking for socket files", () -> StageFiles.socketFiles(socketDirectory)
                    .forEach(socket -> teardown.problem("socket file left behind: " + socket)));
            teardown.step("deleting " + socketDirectory, () -> StageFiles.deleteOrThrow(socketDirectory));
            teardown.step("reading the logs in " + logDirectory, () -> {
                for (Path log : StageFiles.logFiles(logDirectory)) {
                    for (String report : StageFiles.leakReports(log, LEAK_MARKER, 6)) {
                        teardown.problem("Netty reported a leak in " + log + ":\n    " + report);
                    }
                }
            });
        } finally {
            Hygiene.closed(this);
        }
        teardown.finish(logTails());
    }

    @Override
    public String toString() {
        return "Stage{" + name + ", " + socketDirectory + ", " + ioMode + ", " + units.size() + " unit(s)}";
    }
}
