package org.stagecrew.transport;

import java.time.Duration;

/**
 * The checks {@link TransportConfig.Builder#build()} runs, each throwing an {@link
 * IllegalArgumentException} that names the option, the allowed range and the offending value.
 */
final class ConfigChecks {
    private ConfigChecks() {
    }

    /** {@code name must be between min and max, was: value}. */
    static void between(String name, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be between " + min + " and " + max + ", was: " + value);
        }
    }

    /** {@code name must be at least min, was: value}. */
    static void atLeast(String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be at least " + min + ", was: " + value);
        }
    }

    /** {@code name must be positive, was: value}. */
    static void positive(String name, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was: " + value);
        }
    }

    /** A socket file name (if given) is a plain name, and the prefix of generated names has no '/'. */
    static void fileNames(String fileName, String fileNamePrefix) {
        if (fileName != null && (fileName.isEmpty() || fileName.contains("/") || fileName.equals(".") || fileName.equals(".."))) {
            throw new IllegalArgumentException("fileName must be a plain file name without '/', was: '" + fileName + "'");
        }
        if (fileNamePrefix.contains("/")) {
            throw new IllegalArgumentException("fileNamePrefix must not contain '/', was: '" + fileNamePrefix + "'");
        }
    }

    /** A given event loop group replaces the private group that {@code ioThreads} above 0 or {@code busyPoll} make. */
    static void eventLoopGroup(Object group, int ioThreads, boolean busyPoll) {
        if (group != null && (ioThreads != 0 || busyPoll)) {
            throw new IllegalArgumentException("eventLoopGroup excludes " + (busyPoll ? "busyPoll" : "ioThreads above 0")
                    + ", was: ioThreads=" + ioThreads + ", busyPoll=" + busyPoll + "; for busy-polling give a group from"
                    + " DomainSockets.newBusyPollEventLoopGroup");
        }
    }

    /** {@code 0 < low <= high}. */
    static void waterMarks(int low, int high) {
        if (low <= 0 || low > high) {
            throw new IllegalArgumentException("writeBufferWaterMark must satisfy 0 < low <= high, was: low="
                    + low + ", high=" + high);
        }
    }
}
