package org.stagecrew.transport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's own uid and gid, read once; -1 where the platform does not say. */
final class ProcessIdentity {
    private static final int UID = attribute("unix:uid");
    private static final int GID = attribute("unix:gid");

    private ProcessIdentity() {
    }

    static int uid() {
        return UID;
    }

    static int gid() {
        return GID;
    }

    // /proc/<pid> is owned by the process's effective uid and gid.
    private static int attribute(String name) {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), name);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }
}
