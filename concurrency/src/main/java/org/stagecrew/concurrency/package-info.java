/**
 * Execution units and the workers that consume frames.
 *
 * <p>A {@link org.stagecrew.concurrency.Task} runs as a {@link org.stagecrew.concurrency.Concurrency}
 * unit in a thread ({@link org.stagecrew.concurrency.Concurrency#thread}), a child JVM
 * ({@link org.stagecrew.concurrency.Concurrency#process}) or a detached daemon JVM
 * ({@link org.stagecrew.concurrency.Concurrency#daemon}), always with a transport of its own, opened
 * before the task runs and closed after. {@link org.stagecrew.concurrency.WorkerPool} hands the
 * frames of one or many transports to handlers on worker threads, serially per transport.
 *
 * <p>Running units as a service: {@link org.stagecrew.concurrency.Concurrency#onExit()} says how a
 * unit ended, {@link org.stagecrew.concurrency.Concurrency#startAll} starts many at once, {@link
 * org.stagecrew.concurrency.Supervisor} restarts those that die at their address, {@link
 * org.stagecrew.concurrency.DeathWatch} learns of the death of a peer this JVM did not start, and
 * {@link org.stagecrew.concurrency.Ask} adds request/reply with correlation ids.
 *
 * <p>Threading: units and pools are thread-safe; a task runs on its unit's thread (the main thread
 * of a process unit); handlers run on pool threads, one at a time per transport.
 *
 * <p>Start from {@link org.stagecrew.concurrency.Concurrency} (its javadoc tables what each call does
 * in each state of a unit) and {@link org.stagecrew.concurrency.WorkerPool} /
 * {@link org.stagecrew.concurrency.Subscription} (what happens to frames in flight on close).
 */
package org.stagecrew.concurrency;
