package org.stagecrew.tools;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.stagecrew.transport.TransportException;
import org.stagecrew.transport.netty.NettyTransports;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code stagecrew clean [DIR]}: removes the files of endpoints nobody owns, never a live one. Each
 * removal goes through {@link NettyTransports#unlinkIfUnowned}, which takes the address lock first,
 * so an owner that binds meanwhile keeps its files.
 */
@Command(name = "clean", mixinStandardHelpOptions = true,
        description = "Removes stale socket and lock files from a socket directory; live endpoints are left alone.")
final class CleanCommand implements Callable<Integer> {
    @CommandLine.Mixin
    SocketDirectory directory;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        Path dir = directory.path();
        PrintWriter out = spec.commandLine().getOut();
        int removed = 0;
        int kept = 0;
        int failed = 0;
        for (Endpoint e : new EndpointScanner(FileLocks.ofThisMachine()).scan(dir)) {
            if (e.state == Endpoint.State.LIVE) {
                out.println("kept     " + e.socketFile + ": live, pid " + e.pid.getAsLong());
                kept++;
                continue;
            }
            try {
                if (NettyTransports.unlinkIfUnowned(e.socketFile)) {
                    out.println("removed  " + e.socketFile + (e.pid.isPresent() ? " (its owner, pid " + e.pid.getAsLong()
                            + ", is gone)" : ""));
                    removed++;
                } else {
                    out.println("kept     " + e.socketFile + ": a live listener or a new owner holds it");
                    kept++;
                }
            } catch (TransportException failure) {
                spec.commandLine().getErr().println("stagecrew: could not clean " + e.socketFile + ": " + failure.getMessage());
                failed++;
            }
        }
        out.printf("%d removed, %d kept%s%n", removed, kept, failed > 0 ? ", " + failed + " failed" : "");
        return failed > 0 ? 1 : 0;
    }
}
