package org.stagecrew.concurrency;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/**
 * Describes a unit before it starts: its name, the addresses and arguments it gets, its transport
 * configuration and, for process units, the JVM to start. Not thread-safe; every option has a
 * default.
 */
public final class UnitBuilder {
    /** Default time a process unit has to become ready: 30 s. */
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(30);
    /** Default number of a process unit's log files kept, the current one included: 10. */
    public static final int DEFAULT_LOGS_KEPT = 10;

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    enum Kind { THREAD, PROCESS, DAEMON }

    final Kind kind;
    final Task task;
    final Class<? extends Task> taskClass;
    String name;
    Address parent;
    final List<Address> peers = new ArrayList<>();
    final List<String> arguments = new ArrayList<>();
    TransportConfig transportConfig = TransportConfig.defaults();
    final List<String> jvmOptions = new ArrayList<>();
    final Map<String, String> systemProperties = new LinkedHashMap<>();
    Path logDirectory;
    Duration startTimeout = DEFAULT_START_TIMEOUT;
    int logsKept = DEFAULT_LOGS_KEPT;
    boolean inheritJvmOptions;
    boolean classDataSharing;
    /** Whether build() made the process unit's file name up, so that no one else uses it. */
    boolean generatedFileName;

    private UnitBuilder(Kind kind, Task task, Class<? extends Task> taskClass) {
        this.kind = kind;
        this.task = task;
        this.taskClass = taskClass;
        String base = taskClass.isAnonymousClass() || taskClass.isSynthetic() || taskClass.getSimpleName().contains("$")
                ? "task" : taskClass.getSimpleName();
        this.name = base + "-" + COUNTER.incrementAndGet();
    }

    static UnitBuilder forThread(Task task) {
        Objects.requireNonNull(task, "task");
        return new UnitBuilder(Kind.THREAD, task, task.getClass());
    }

    static UnitBuilder forProcess(Class<? extends Task> taskClass, boolean daemon) {
        Objects.requireNonNull(taskClass, "task");
        return new UnitBuilder(daemon ? Kind.DAEMON : Kind.PROCESS, null, taskClass);
    }

    /** Sets the unit's name (thread name, log file name, logger name). Default: task class name and a counter. */
    public UnitBuilder name(String name) {
        this.name = Objects.requireNonNull(name, "name");
        return this;
    }

    /** Sets the address of the starting unit, which the task sees as {@link TaskContext#parent()}. */
    public UnitBuilder parent(Address parent) {
        this.parent = parent;
        return this;
    }

    /** Adds addresses the task gets as {@link TaskContext#peers()}. */
    public UnitBuilder peers(Address... peers) {
        for (Address peer : peers) {
            this.peers.add(Objects.requireNonNull(peer, "peer"));
        }
        return this;
    }

    /** Adds arguments the task gets as {@link TaskContext#arguments()}. */
    public UnitBuilder arguments(String... arguments) {
        for (String argument : arguments) {
            this.arguments.add(Objects.requireNonNull(argument, "argument"));
        }
        return this;
    }

    /**
     * Sets the configuration of the unit's transport. Default: {@link TransportConfig#defaults()}.
     * A process unit uses its socket directory, file name (or prefix: {@link #build()} then makes up
     * a name {@code <prefix><this pid>-u<counter>-<random>.sock}), I/O mode, limits, timeouts
     * and connection cap; code (the undeliverable handler, the peer policy) cannot cross into the
     * child JVM, which uses the defaults for those.
     */
    public UnitBuilder transportConfig(TransportConfig transportConfig) {
        this.transportConfig = Objects.requireNonNull(transportConfig, "transportConfig");
        return this;
    }

    /** Adds options for the child JVM of a process unit, e.g. {@code -Xmx256m}. */
    public UnitBuilder jvmOptions(String... options) {
        jvmOptions.addAll(Arrays.asList(options));
        return this;
    }

    /** Sets a system property in the child JVM of a process unit. */
    public UnitBuilder systemProperty(String key, String value) {
        systemProperties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Passes this JVM's own options to the child JVM of a process unit, before those of {@link
     * #jvmOptions} (which therefore win where both set one): system properties ({@code -D}), {@code
     * -X} and {@code -XX} options, {@code --add-opens} and the other module options, assertions and
     * agents. Never passed: a debugger agent listening on a fixed port (the parent holds that port),
     * options naming a file the parent writes (GC or unified logging to a file, flight recordings,
     * class-data archives) and the class path. Default: off; the child gets only Netty's leak
     * detection properties.
     */
    public UnitBuilder inheritJvmOptions(boolean inherit) {
        this.inheritJvmOptions = inherit;
        return this;
    }

    /**
     * Whether a process unit's JVM maps an application class-data sharing archive of the class path
     * (AppCDS), made on first use in {@code cds/} of the default socket directory, so that it starts
     * faster; the system property {@code stagecrew.cds=false} turns it off everywhere. On JDK
     * 19+ the JVM keeps the archive ({@code -XX:+AutoCreateSharedArchive}); on JDK 17 and 18 the
     * first child run that ends normally (not killed) writes it as it exits, which makes that exit
     * take a moment longer. Default: off (opt in while it is new). Ignored if the JVM options already set {@code -Xshare} or an archive.
     */
    public UnitBuilder classDataSharing(boolean classDataSharing) {
        this.classDataSharing = classDataSharing;
        return this;
    }

    /**
     * Sets how many log files of this unit (by name) are kept in its log directory, the new one
     * included; older ones are deleted at each start. At least 1. Default {@value #DEFAULT_LOGS_KEPT}.
     */
    public UnitBuilder logsKept(int logsKept) {
        if (logsKept < 1) {
            throw new IllegalArgumentException("logsKept must be at least 1, was: " + logsKept);
        }
        this.logsKept = logsKept;
        return this;
    }

    /**
     * Sets where a process unit's logs go: one file per start, named {@code <unit name>-<UTC start
     * time>.log}, e.g. {@code worker-1-20261202T063012.345Z.log}; see {@link #logsKept}. Default:
     * {@code logs/} inside the socket directory.
     */
    public UnitBuilder logDirectory(Path logDirectory) {
        this.logDirectory = logDirectory;
        return this;
    }

    /** Sets how long a process unit has to become ready; positive. Default 30 s. */
    public UnitBuilder startTimeout(Duration startTimeout) {
        if (startTimeout.isNegative() || startTimeout.isZero()) {
            throw new IllegalArgumentException("startTimeout must be positive, was: " + startTimeout);
        }
        this.startTimeout = startTimeout;
        return this;
    }

    /**
     * Creates the unit without starting it.
     *
     * @throws IllegalArgumentException if a process unit is asked for LOCAL mode, its task class
     *     cannot be created in the child JVM (a lambda, an anonymous,
     *     local or non-static inner class, a class that is not public or abstract, no public
     *     no-argument constructor; the message says what to change), or one of its socket paths (its own, its control
     *     socket: the same plus {@code .ctl}, its starter's handshake socket) does not fit into {@code
     *     sun_path}; the message names the path, its length and the limit
     */
    public Concurrency build() {
        UnitBuilder spec = snapshot();
        if (kind == Kind.THREAD) {
            return new ThreadUnit(spec);
        }
        if (transportConfig.ioMode() == IoMode.LOCAL) {
            throw new IllegalArgumentException("process unit " + name + " cannot use IoMode.LOCAL, which works only inside one JVM");
        }
        TaskClassCheck.check(taskClass, name);
        if (spec.transportConfig.fileName() == null) {
            // Chosen here rather than in the child, so that the parent knows the unit's files before it is ready.
            spec.transportConfig = spec.transportConfig.toBuilder().fileName(spec.transportConfig.fileNamePrefix()
                    + ProcessHandle.current().pid() + "-u" + COUNTER.incrementAndGet() + "-"
                    + Integer.toHexString(RANDOM.nextInt(0x10000)) + ".sock").build();
            spec.generatedFileName = true;
        }
        return new ProcessUnit(spec, checkedAddresses(spec.transportConfig));
    }

    /**
     * Checks up front, in this JVM, that every socket path a process unit involves fits into {@code
     * sun_path}: its own, its control socket ({@value Control#CONTROL_SUFFIX} longer) and the
     * handshake socket its starter opens; returns the unit's address.
     */
    private Address checkedAddresses(TransportConfig config) {
        Path directory = config.socketDirectory().toAbsolutePath().normalize();
        try {
            Address unit = config.usesAbstractNamespace() ? Address.abstractName(config.fileName())
                    : Address.of(directory.resolve(config.fileName()));
            Control.controlAddress(unit);
            if (!config.usesAbstractNamespace()) {
                Address.of(directory.resolve("stagecrew-start-" + ProcessHandle.current().pid() + "-" + Integer.MAX_VALUE + ".sock"));
            }
            return unit;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("process unit " + name + " cannot be started in " + directory + ": "
                    + e.getMessage(), e);
        }
    }

    /** A copy that later changes to this builder do not affect. */
    private UnitBuilder snapshot() {
        UnitBuilder copy = new UnitBuilder(kind, task, taskClass);
        copy.name = name;
        copy.parent = parent;
        copy.peers.addAll(peers);
        copy.arguments.addAll(arguments);
        copy.transportConfig = transportConfig;
        copy.jvmOptions.addAll(jvmOptions);
        copy.systemProperties.putAll(systemProperties);
        copy.logDirectory = logDirectory;
        copy.startTimeout = startTimeout;
        copy.logsKept = logsKept;
        copy.inheritJvmOptions = inheritJvmOptions;
        copy.classDataSharing = classDataSharing;
        copy.generatedFileName = generatedFileName;
        return copy;
    }

    /** Creates and starts the unit; see {@link Concurrency#start()}. */
    public Concurrency start() {
        return build().start();
    }
}
