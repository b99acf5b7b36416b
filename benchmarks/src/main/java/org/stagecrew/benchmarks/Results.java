package org.stagecrew.benchmarks;

/** What one run measured. */
final class Results {
    private Results() {
    }

    /** One-way throughput of {@code senders} senders into one receiver. */
    record Throughput(Variant variant, int senders, int size, long frames, long nanos, boolean verified,
            long senderHeap, long senderDirect, long receiverHeap, long receiverDirect) {
        double messagesPerSecond() {
            return frames * 1e9 / nanos;
        }

        double bytesPerSecond() {
            return messagesPerSecond() * size;
        }

        String workload() {
            return senders + "->1";
        }
    }

    /**
     * Round-trip times of one ping-pong, in nanoseconds, and the CPU each side's process used
     * meanwhile, in cores (CPU time over wall time): back to back ({@code p50} to {@code max}), then
     * paced at one ping per {@code pacedInterval} ({@code pace}: the share of the back-to-back rate
     * that offered, the configured one or less where the interval's floor applied) and timed
     * from the intended send times, corrected for coordinated omission ({@code coP50} to
     * {@code coP999}); {@code pacedLate} of the {@code count} paced pings left more than
     * {@link PingSchedule#LATE_NANOS} after their intended time, the latest by {@code pacedMaxLate}.
     */
    record Latency(Variant variant, int size, int count, long p50, long p90, long p99, long p999, long max,
            double pingerCores, double echoCores, long coP50, long coP99, long coP999, long pacedInterval,
            double pace, long pacedLate, long pacedMaxLate) {
        /** The share of paced pings that left late, 0 to 1. */
        double lateShare() {
            return count == 0 ? 0 : (double) pacedLate / count;
        }
    }
}
