package org.stagecrew.transport;

import java.util.concurrent.locks.LockSupport;

/**
 * How a thread waits, without a lock or a signal, for a condition that another thread will make
 * true: spin, then yield, then park for doubling periods (after Agrona's {@code BackoffIdleStrategy}).
 * The caller counts its attempts and passes the count, so a strategy is an immutable value that
 * allocates nothing and may be shared by any number of threads as a constant:
 *
 * <pre>{@code
 * for (int attempt = 0; !condition(); attempt++) {
 *     IDLE.idle(attempt);
 * }
 * }</pre>
 *
 * <p>Attempts {@code 0 .. spins-1} call {@link Thread#onSpinWait()}, the next {@code yields}
 * attempts {@link Thread#yield()}, and every later one parks for {@code minParkNanos} doubled per
 * attempt up to {@code maxParkNanos}. Interrupts are not cleared; a parked thread returns early on
 * one.
 *
 * @param spins how many attempts spin, at least 0
 * @param yields how many attempts after the spins yield, at least 0
 * @param minParkNanos the first park, at least 1 ns
 * @param maxParkNanos the longest park, at least {@code minParkNanos}
 */
public record IdleStrategy(int spins, int yields, long minParkNanos, long maxParkNanos) {

    /**
     * Validates the strategy.
     *
     * @throws IllegalArgumentException naming the offending value
     */
    public IdleStrategy {
        if (spins < 0 || yields < 0) {
            throw new IllegalArgumentException("spins and yields must be at least 0, were: " + spins + " and " + yields);
        }
        if (minParkNanos < 1 || maxParkNanos < minParkNanos) {
            throw new IllegalArgumentException("parks must satisfy 1 <= minParkNanos <= maxParkNanos, were: "
                    + minParkNanos + " and " + maxParkNanos);
        }
    }

    /**
     * Returns a strategy that only spins and yields: {@code spins} spins, then yields for ever (it
     * parks only after {@link Integer#MAX_VALUE} attempts). For waits of nanoseconds to microseconds
     * on a thread that has nothing else to do.
     *
     * @param spins how many attempts spin before the yields
     * @return the strategy
     */
    public static IdleStrategy spinThenYield(int spins) {
        return new IdleStrategy(spins, Integer.MAX_VALUE - spins, 1, 1);
    }

    /**
     * Returns a strategy that parks from the first attempt, for {@code minParkNanos} doubled per
     * attempt up to {@code maxParkNanos}. For waits of milliseconds that should cost no CPU.
     *
     * @param minParkNanos the first park
     * @param maxParkNanos the longest park
     * @return the strategy
     */
    public static IdleStrategy parking(long minParkNanos, long maxParkNanos) {
        return new IdleStrategy(0, 0, minParkNanos, maxParkNanos);
    }

    /**
     * Waits once, as this strategy does at {@code attempt}.
     *
     * @param attempt how many times the caller has waited for this condition so far, from 0
     */
    public void idle(int attempt) {
        idleUntil(attempt, Long.MAX_VALUE);
    }

    /**
     * Waits once, as {@link #idle(int)}, but parks no later than {@code deadlineNanos} (a {@link
     * System#nanoTime()} value).
     *
     * @param attempt how many times the caller has waited for this condition so far, from 0
     * @param deadlineNanos when the caller stops waiting
     */
    public void idleUntil(int attempt, long deadlineNanos) {
        if (attempt < spins) {
            Thread.onSpinWait();
        } else if (attempt - spins < yields) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(Math.min(parkNanos(attempt), deadlineNanos - System.nanoTime()));
        }
    }

    /**
     * Returns how long this strategy parks at {@code attempt}: 0 while it spins or yields.
     *
     * @param attempt the caller's attempt count, from 0
     * @return the park in nanoseconds
     */
    public long parkNanos(int attempt) {
        long parks = (long) attempt - spins - yields;
        if (parks < 0) {
            return 0;
        }
        int shift = (int) Math.min(parks, 62);
        return minParkNanos > maxParkNanos >> shift ? maxParkNanos : Math.min(minParkNanos << shift, maxParkNanos);
    }
}
