package org.stagecrew.concurrency;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;
import org.stagecrew.transport.Address;

/**
 * The JDK Flight Recorder events of units: {@code stagecrew.UnitStarted} once a unit is ready,
 * {@code stagecrew.UnitExited} once it has ended, each naming the unit, its kind, its address, its
 * pid and its parent's address. While JFR is off a call costs one check of {@link
 * EventType#isEnabled()} and builds nothing. Thread-safe.
 */
final class UnitEvents {
    private static final EventType STARTED = EventType.getEventType(UnitStarted.class);
    private static final EventType EXITED = EventType.getEventType(UnitExited.class);

    private UnitEvents() {
    }

    /** Fields both events carry. */
    abstract static class UnitEvent extends Event {
        @Label("Unit")
        String unit;
        @Label("Kind")
        @Description("thread, process or daemon")
        String kind;
        @Label("Unit Address")
        String unitAddress;
        @Label("Pid")
        @Description("The unit's process id (this JVM's for a thread unit); -1 if unknown")
        long pid;
        @Label("Parent Address")
        String parentAddress;

        void set(String name, UnitBuilder.Kind unitKind, Address address, long unitPid, Address parent) {
            unit = name;
            kind = unitKind.name().toLowerCase(java.util.Locale.ROOT);
            unitAddress = address == null ? "" : address.toString();
            pid = unitPid;
            parentAddress = parent == null ? "" : parent.toString();
        }
    }

    @Name("stagecrew.UnitStarted")
    @Label("Unit Started")
    @Category({"stagecrew", "Concurrency"})
    @StackTrace(false)
    static final class UnitStarted extends UnitEvent {
    }

    @Name("stagecrew.UnitExited")
    @Label("Unit Exited")
    @Category({"stagecrew", "Concurrency"})
    @StackTrace(false)
    static final class UnitExited extends UnitEvent {
        @Label("Exit Code")
        int exitCode;
        @Label("Signal")
        @Description("The signal that ended the unit's process, or -1")
        int signal;
        @Label("Failure")
        String failure;
        @Label("Uptime")
        @Timespan(Timespan.NANOSECONDS)
        long uptime;
    }

    static void started(String name, UnitBuilder.Kind kind, Address address, long pid, Address parent) {
        if (STARTED.isEnabled()) {
            UnitStarted e = new UnitStarted();
            if (e.shouldCommit()) {
                e.set(name, kind, address, pid, parent);
                e.commit();
            }
        }
    }

    static void exited(UnitExit exit, UnitBuilder.Kind kind, Address address, long pid, Address parent) {
        if (EXITED.isEnabled()) {
            UnitExited e = new UnitExited();
            if (e.shouldCommit()) {
                e.set(exit.unit(), kind, address, pid, parent);
                e.exitCode = exit.exitCode();
                e.signal = exit.signal().orElse(-1);
                e.failure = exit.failure().map(Throwable::toString).orElse("");
                e.uptime = exit.uptime().toNanos();
                e.commit();
            }
        }
    }
}
