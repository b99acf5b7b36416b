package org.stagecrew.benchmarks;

/**
 * One scale row: many transports sending into one receiver from several JVMs (fan-in), or many
 * transports in one JVM passing frames around a ring.
 *
 * @param row "fan-in" or "ring"
 * @param transports sending transports (fan-in) or transports in the ring
 * @param jvms JVMs holding those transports
 * @param size frame size, bytes
 * @param frames frames received (fan-in) or forwarded (ring) in the measured window
 * @param nanos length of the measured window
 * @param verified whether count and checksum (fan-in) or the number of frames left in the ring matched
 * @param vsOneToOne aggregate rate over the 1→1 rate of the same harness and run, or NaN
 * @param threads live threads of the JVM that holds the transports (for fan-in, the busiest sender JVM)
 * @param loopThreads of those, event loop threads of stagecrew transports
 * @param heapPerTransport heap used after GC, over the transports (ring only; -1 otherwise)
 * @param directPerTransport direct memory used, over the transports (ring only; -1 otherwise)
 */
record ScaleResult(String row, int transports, int jvms, int size, long frames, long nanos, boolean verified,
        double vsOneToOne, int threads, int loopThreads, long heapPerTransport, long directPerTransport) {

    double messagesPerSecond() {
        return frames * 1e9 / nanos;
    }

    /** "256->1 (4 JVMs)", "1000 in a ring (1 JVM)". */
    String flow() {
        return "ring".equals(row) ? transports + " in a ring (1 JVM)" : transports + "->1 (" + jvms + (jvms == 1 ? " JVM)" : " JVMs)");
    }
}
