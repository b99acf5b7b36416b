/**
 * A JUnit Jupiter harness for tests that run execution units in real threads, child JVMs and
 * daemons, talking over real Unix Domain Sockets.
 *
 * <p>Start from {@link org.stagecrew.testing.StagecrewTest}: annotate a test class, declare a
 * {@link org.stagecrew.testing.Stage} parameter, and start units with
 * {@link org.stagecrew.testing.Stage#process(Class)} and friends. The stage gives each test a private
 * socket directory (short, under {@code /tmp}, mode 0700), opens transports in it, and pre-fills
 * every unit it starts (socket directory, parent address, log directory, Netty leak detection at
 * PARANOID). At the end of the test it stops everything it started (gracefully, then by force) and
 * fails the test if a socket file or a child process is left behind, or if a child's log reports a
 * Netty leak. When a test fails, the tails of the units' logs are attached to the failure.
 *
 * <p>{@link org.stagecrew.testing.Stage} also works without JUnit's extension model, in a
 * try-with-resources block ({@link org.stagecrew.testing.Stage#builder(String)}), and
 * {@link org.stagecrew.testing.Hygiene} checks, at the end of a suite, what every stage of this JVM
 * left behind.
 *
 * <p><b>Threading.</b> A {@code Stage} is thread-safe: tasks and helper threads of a test may start
 * units and open transports concurrently. Tests with stages may run in parallel (JUnit's parallel
 * execution) and a class-level stage may live beside per-test ones: each stage stops and checks only
 * the processes it started (recognised by the {@value org.stagecrew.testing.Stage#STAGE_PROPERTY}
 * property on their command lines) and those holding sockets in its own directory. A child process
 * that a test started without a stage is claimed by a stage only when no other stage was open
 * during its life; otherwise {@link org.stagecrew.testing.Hygiene} reports it at the end of the
 * suite.
 */
package org.stagecrew.testing;
