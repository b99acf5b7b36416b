package org.stagecrew.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.stagecrew.transport.Address;

/**
 * Finds the processes a test left behind: descendants of this JVM that carry a stage's marker in
 * their command line (or descend from one that does), children that were not there before, and (on
 * Linux, through {@code /proc}) any process of ours that holds a socket bound in a given directory
 * or to a given address, such as a daemon whose starter has exited and which is no longer our
 * descendant.
 */
final class Processes {
    private static final long SELF = ProcessHandle.current().pid();
    private static final int COMMAND_CHARS = 240;

    private Processes() {
    }

    /** The process ids of this JVM's live descendants. */
    static Set<Long> descendants() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).map(ProcessHandle::pid)
                .collect(Collectors.toCollection(HashSet::new));
    }

    /** Live descendants of this JVM whose ids are not in {@code before}. */
    static List<ProcessHandle> newDescendants(Set<Long> before) {
        return ProcessHandle.current().descendants().filter(p -> p.isAlive() && !before.contains(p.pid())).toList();
    }

    /**
     * Processes other than this JVM that hold a Unix socket bound to a path inside {@code dir}
     * (listening or accepted), found through {@code /proc/net/unix} and {@code /proc/<pid>/fd}.
     * Empty where {@code /proc} does not exist; processes of other users are not visible.
     */
    static List<ProcessHandle> socketHolders(Path dir) {
        String prefix = dir.toAbsolutePath().normalize() + "/";
        return holders(path -> path.startsWith(prefix));
    }

    /**
     * Processes other than this JVM that hold a Unix socket bound to {@code address}: its path, or
     * {@code @name} for an abstract name, as {@code /proc/net/unix} shows it. Empty where {@code
     * /proc} does not exist.
     */
    static List<ProcessHandle> socketHolders(Address address) {
        String shown = address.toString();
        return holders(shown::equals);
    }

    /**
     * Whether some socket, of any process, is bound to {@code address}; {@code true} where {@code
     * /proc/net/unix} cannot tell.
     */
    static boolean mayBeBound(Address address) {
        Set<String> inodes = boundInodes(address.toString()::equals);
        return inodes == null || !inodes.isEmpty();
    }

    private static List<ProcessHandle> holders(Predicate<String> boundPath) {
        Set<String> inodes = boundInodes(boundPath);
        if (inodes == null || inodes.isEmpty()) {
            return List.of();
        }
        List<ProcessHandle> holders = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path proc : procs) {
                long pid = Long.parseLong(proc.getFileName().toString());
                if (pid != SELF && holdsAny(proc.resolve("fd"), inodes)) {
                    ProcessHandle.of(pid).filter(ProcessHandle::isAlive).ifPresent(holders::add);
                }
            }
        } catch (IOException e) {
            // /proc vanished under us; report what was found
        }
        return holders;
    }

    /** The inodes ({@code socket:[n]}) of the sockets bound to a matching path; {@code null} without {@code /proc/net/unix}. */
    private static Set<String> boundInodes(Predicate<String> boundPath) {
        Path netUnix = Path.of("/proc/net/unix");
        if (!Files.isReadable(netUnix)) {
            return null;
        }
        Set<String> inodes = new HashSet<>();
        try {
            for (String line : Files.readAllLines(netUnix, StandardCharsets.UTF_8)) {
                String[] fields = line.trim().split("\\s+", 8);
                if (fields.length == 8 && boundPath.test(fields[7])) {
                    inodes.add("socket:[" + fields[6] + "]");
                }
            }
        } catch (IOException e) {
            return null;
        }
        return inodes;
    }

    /** The live descendants of this JVM whose command line contains {@code marker}. */
    static List<ProcessHandle> marked(String marker) {
        return ProcessHandle.current().descendants().filter(p -> p.isAlive() && commandLine(p).contains(marker)).toList();
    }

    /** {@link #marked(String)} and their live descendants. */
    static List<ProcessHandle> markedWithDescendants(String marker) {
        Map<Long, ProcessHandle> found = new LinkedHashMap<>();
        for (ProcessHandle p : marked(marker)) {
            found.putIfAbsent(p.pid(), p);
            p.descendants().filter(ProcessHandle::isAlive).forEach(d -> found.putIfAbsent(d.pid(), d));
        }
        return List.copyOf(found.values());
    }

    /** Whether {@code process} or one of its ancestors below this JVM has {@code marker} in its command line. */
    static boolean isMarked(ProcessHandle process, String marker) {
        for (Optional<ProcessHandle> p = Optional.of(process); p.isPresent() && p.get().pid() != SELF; p = p.get().parent()) {
            if (commandLine(p.get()).contains(marker)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The whole command line, arguments separated by spaces: from {@code /proc/<pid>/cmdline} where
     * it exists (never truncated), else from {@link ProcessHandle.Info}; empty if unknown.
     */
    static String commandLine(ProcessHandle process) {
        Path cmdline = Path.of("/proc", Long.toString(process.pid()), "cmdline");
        try {
            return new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException | SecurityException e) {
            return process.info().commandLine().orElse("");
        }
    }

    /**
     * Waits until {@code deadline} ({@link System#nanoTime()}) for each process to end; returns those
     * still alive then.
     */
    static List<ProcessHandle> awaitExit(Collection<ProcessHandle> processes, long deadline) {
        List<ProcessHandle> alive = new ArrayList<>();
        for (ProcessHandle p : processes) {
            try {
                p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                if (p.isAlive()) {
                    alive.add(p);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (p.isAlive()) {
                    alive.add(p);
                }
            }
        }
        return alive;
    }

    private static boolean holdsAny(Path fds, Set<String> inodes) {
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(fds)) {
            for (Path fd : stream) {
                try {
                    if (inodes.contains(Files.readSymbolicLink(fd).toString())) {
                        return true;
                    }
                } catch (IOException closedMeanwhile) {
                    // the descriptor was closed while we looked
                }
            }
        } catch (IOException | SecurityException notOurs) {
            // another user's process, or it exited
        }
        return false;
    }

    /** Process id and the start of its command line, for a report. */
    static String describe(ProcessHandle process) {
        String command = process.info().commandLine().orElse("(command line unknown)");
        if (command.length() > COMMAND_CHARS) {
            command = command.substring(0, COMMAND_CHARS) + "...";
        }
        return "pid " + process.pid() + " (" + command + ")";
    }

    /**
     * Kills each process and its descendants with SIGKILL and waits up to {@code wait} for them to
     * end; returns a description of each that survived.
     */
    static List<String> kill(List<ProcessHandle> processes, Duration wait) {
        Map<Long, ProcessHandle> all = new LinkedHashMap<>();
        for (ProcessHandle p : processes) {
            p.descendants().forEach(d -> all.putIfAbsent(d.pid(), d));
            all.putIfAbsent(p.pid(), p);
        }
        all.values().forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + wait.toNanos();
        List<String> survivors = new ArrayList<>();
        for (ProcessHandle p : all.values()) {
            try {
                p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                survivors.add(describe(p));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                survivors.add(describe(p));
            }
        }
        return survivors;
    }
}
