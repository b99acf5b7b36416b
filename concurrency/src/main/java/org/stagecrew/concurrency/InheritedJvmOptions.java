package org.stagecrew.concurrency;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * The options of this JVM ({@code RuntimeMXBean.getInputArguments()}) that a child JVM can take
 * over unchanged: system properties, {@code -X}/{@code -XX} options, module options ({@code
 * --add-opens} and the like) and agents. Left out: the debugger agent when it listens on a fixed
 * port (the child could not bind it: it is the parent's), options that name a file the parent writes
 * (GC and unified logs to a file, flight recordings, class-data archives: two JVMs would write one
 * file), and what the unit's own command line sets ({@code -cp}, the class path property, the
 * command).
 */
final class InheritedJvmOptions {
    private InheritedJvmOptions() {
    }

    /** This JVM's options, filtered. */
    static List<String> ofThisJvm() {
        return filter(ManagementFactory.getRuntimeMXBean().getInputArguments());
    }

    /** Keeps the options of {@code arguments} that a child may take over, in order. */
    static List<String> filter(List<String> arguments) {
        List<String> kept = new ArrayList<>();
        for (String option : arguments) {
            if (inheritable(option)) {
                kept.add(option);
            }
        }
        return kept;
    }

    private static boolean inheritable(String option) {
        if (option.startsWith("-agentlib:jdwp") || option.startsWith("-Xrunjdwp") || option.startsWith("-Xdebug")) {
            return !option.startsWith("-Xdebug") && listensOnAnyPort(option);
        }
        if (option.startsWith("-Djava.class.path=") || option.startsWith("-Dsun.java.command=")
                || option.startsWith("-Djdk.module.") || option.startsWith("-Dsun.java.launcher")) {
            return false;
        }
        if (option.startsWith("-Xloggc:") || option.startsWith("-Xlog:") && option.contains("file=")
                || option.startsWith("-XX:StartFlightRecording") || option.startsWith("-XX:FlightRecorderOptions")
                || option.startsWith("-XX:SharedArchiveFile") || option.startsWith("-XX:ArchiveClassesAtExit")
                || option.startsWith("-XX:+AutoCreateSharedArchive") || option.startsWith("-Xshare:dump")
                || option.startsWith("-XX:Flags=") || option.startsWith("-XX:VMOptionsFile=")) {
            return false;
        }
        return option.startsWith("-D") || option.startsWith("-X") || option.startsWith("--add-")
                || option.startsWith("--enable-native-access") || option.startsWith("--illegal-access")
                || option.startsWith("-javaagent:") || option.startsWith("-agentlib:") || option.startsWith("-agentpath:")
                || option.startsWith("-ea") || option.startsWith("-enableassertions") || option.startsWith("-da")
                || option.startsWith("-esa") || option.startsWith("-dsa");
    }

    /** A debugger agent whose {@code address} is absent or port 0 picks a free port: each child gets its own. */
    private static boolean listensOnAnyPort(String option) {
        for (String part : option.substring(option.indexOf(':') + 1).split(",")) {
            if (part.startsWith("address=")) {
                String address = part.substring("address=".length());
                String port = address.substring(address.lastIndexOf(':') + 1);
                return port.equals("0");
            }
        }
        return !option.contains("server=y"); // a client connects out; a server without address picks a port
    }
}
