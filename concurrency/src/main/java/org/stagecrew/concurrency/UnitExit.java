package org.stagecrew.concurrency;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How a unit ended, as {@link Concurrency#onExit()} reports it.
 *
 * <p>{@code exitCode} follows {@link Concurrency#exitCode()}: 0 when the task returned or stopped on
 * request, 1 when it threw, 2 when it could not start, a process's own status otherwise. A process
 * ended by a signal has the shell's status {@code 128 + signal} (137 after SIGKILL, 143 after SIGTERM
 * that the task did not handle) and {@link #signal()} names that signal; a process that calls {@code
 * System.exit(137)} itself cannot be told apart from one killed with SIGKILL.
 *
 * @param unit the unit's name
 * @param exitCode the exit status
 * @param signal the number of the signal that ended a process unit, empty for thread units and for a
 *     status below 129
 * @param failure why the unit failed, empty when {@code exitCode} is 0
 * @param uptime from the start of the thread or process to its end
 */
public record UnitExit(String unit, int exitCode, OptionalInt signal, Optional<Throwable> failure, Duration uptime) {

    /** Validates the fields. */
    public UnitExit {
        Objects.requireNonNull(unit, "unit");
        Objects.requireNonNull(signal, "signal");
        Objects.requireNonNull(failure, "failure");
        Objects.requireNonNull(uptime, "uptime");
        if (uptime.isNegative()) {
            throw new IllegalArgumentException("uptime must not be negative, was: " + uptime);
        }
    }

    /** The exit of a process: a status of 129 to 192 is taken as {@code 128 + signal}. */
    static UnitExit ofProcess(String unit, int exitCode, Optional<Throwable> failure, Duration uptime) {
        OptionalInt signal = exitCode > 128 && exitCode <= 128 + 64 ? OptionalInt.of(exitCode - 128) : OptionalInt.empty();
        return new UnitExit(unit, exitCode, signal, failure, uptime);
    }

    /** Whether the unit ended with status 0. */
    public boolean isClean() {
        return exitCode == 0;
    }

    /** The signal's name, e.g. {@code SIGKILL}, or empty; see {@link #signal()}. */
    public Optional<String> signalName() {
        if (signal.isEmpty()) {
            return Optional.empty();
        }
        int s = signal.getAsInt();
        return Optional.of(switch (s) {
            case 1 -> "SIGHUP";
            case 2 -> "SIGINT";
            case 3 -> "SIGQUIT";
            case 6 -> "SIGABRT";
            case 9 -> "SIGKILL";
            case 11 -> "SIGSEGV";
            case 13 -> "SIGPIPE";
            case 15 -> "SIGTERM";
            default -> "signal " + s;
        });
    }

    /** E.g. {@code unit worker-1 exited with 137 (SIGKILL) after 2.31 s}. */
    @Override
    public String toString() {
        return "unit " + unit + " exited with " + exitCode + signalName().map(n -> " (" + n + ")").orElse("")
                + " after " + uptime.toMillis() / 1000.0 + " s";
    }
}
