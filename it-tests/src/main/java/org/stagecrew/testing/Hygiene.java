package org.stagecrew.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.opentest4j.AssertionFailedError;

/**
 * What every {@link Stage} of this JVM left behind, checked at the end of a suite (e.g. in an
 * {@code @AfterAll} method or a test class ordered last): a stage checks itself when it closes;
 * this catches what outlived those checks and stages that were never closed.
 *
 * <p>Thread-safe.
 */
public final class Hygiene {
    private static final Set<Long> DESCENDANTS_AT_START = Processes.descendants();
    private static final List<Stage> OPENED = new CopyOnWriteArrayList<>();
    private static final Set<Stage> CLOSED = ConcurrentHashMap.newKeySet();
    /** Stages open now. */
    private static final Set<Stage> OPEN = ConcurrentHashMap.newKeySet();
    /** Stages that were open at the same time as another stage at some point of their life. */
    private static final Set<Stage> SHARED = ConcurrentHashMap.newKeySet();

    private Hygiene() {
    }

    static synchronized void opened(Stage stage) {
        OPENED.add(stage);
        if (!OPEN.isEmpty()) {
            SHARED.addAll(OPEN);
            SHARED.add(stage);
        }
        OPEN.add(stage);
    }

    static synchronized void closed(Stage stage) {
        OPEN.remove(stage);
        CLOSED.add(stage);
    }

    /**
     * Whether no other stage was open at any time while {@code stage} was: then every child process
     * this JVM started meanwhile was started during its test (or by a test running beside it without
     * a stage).
     */
    static synchronized boolean wasAlone(Stage stage) {
        return !SHARED.contains(stage);
    }

    /** The number of stages opened in this JVM so far. */
    public static int stagesOpened() {
        return OPENED.size();
    }

    /** The socket directories of every stage opened in this JVM so far. */
    public static List<Path> socketDirectories() {
        return OPENED.stream().map(Stage::socketDirectory).toList();
    }

    /**
     * Lists what the stages of this JVM left behind: stages not closed, socket files in their
     * directories, processes holding sockets there, children of this JVM started since this class
     * was loaded that are still alive, and Netty leak reports in the stages' logs. Kills nothing.
     *
     * @return one line per problem; empty when all is clean
     */
    public static List<String> problems() {
        List<String> problems = new ArrayList<>();
        for (Stage stage : OPENED) {
            if (!CLOSED.contains(stage)) {
                problems.add("stage " + stage.name() + " was never closed");
            }
            for (Path socket : StageFiles.socketFiles(stage.socketDirectory())) {
                problems.add("socket file left behind by stage " + stage.name() + ": " + socket);
            }
            for (ProcessHandle p : Processes.socketHolders(stage.socketDirectory())) {
                problems.add("process holding a socket of stage " + stage.name() + ": " + Processes.describe(p));
            }
            for (Path log : StageFiles.logFiles(stage.logDirectory())) {
                for (String leak : StageFiles.leakReports(log, Stage.LEAK_MARKER, 6)) {
                    problems.add("Netty reported a leak in " + log + ":\n    " + leak);
                }
            }
        }
        for (ProcessHandle p : Processes.newDescendants(DESCENDANTS_AT_START)) {
            problems.add("child process of this JVM still alive: " + Processes.describe(p));
        }
        return problems;
    }

    /**
     * Fails if {@link #problems()} finds anything.
     *
     * @throws AssertionFailedError listing every problem
     */
    public static void assertClean() {
        List<String> problems = problems();
        if (!problems.isEmpty()) {
            throw new AssertionFailedError(problems.size() + " problem(s) left behind by the stages of this JVM:\n  - "
                    + String.join("\n  - ", problems));
        }
    }
}
