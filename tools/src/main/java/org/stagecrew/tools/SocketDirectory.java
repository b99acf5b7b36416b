package org.stagecrew.tools;

import java.nio.file.Path;
import org.stagecrew.transport.TransportConfig;
import picocli.CommandLine.Parameters;

/** The {@code [DIR]} argument every command takes: a socket directory, by default the transports' own. */
final class SocketDirectory {
    @Parameters(index = "0", arity = "0..1", paramLabel = "DIR",
            description = "socket directory (default: $TMPDIR/stagecrew-$USER)")
    Path given;

    /** The directory given, or {@link TransportConfig#defaultSocketDirectory()}. */
    Path path() {
        return given != null ? given : TransportConfig.defaultSocketDirectory();
    }
}
