package org.stagecrew.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13: every package is declared by one module of the build only. On the module path a package
 * that two jars hold (a split package) does not load, so a class that needs package-private access to
 * {@code org.stagecrew.transport.netty} lives in transport-netty itself: its unit tests in
 * {@code src/test/java}, its JMH benchmarks in {@code src/jmh/java}, its jcstress tests in
 * {@code src/jcstress/java}, all compiled with the tests and shipped in its test-jar, never in its main
 * jar. The benchmarks and stress-tests modules only package that test-jar.
 *
 * <p>Reads the {@code package} declaration of every {@code .java} file under each module's
 * {@code src} (main, test and any other source root), from this module's directory over its siblings
 * as {@link SourceSizeTest} does; generated sources under {@code target} are not read.
 */
class SplitPackageTest {
    /** A module with more files than this in a split package is named with their number (the package's owner, most likely). */
    private static final int FILES_LISTED = 5;
    private static final Pattern PACKAGE = Pattern.compile("^\\s*package\\s+([\\w.]+)\\s*;", Pattern.MULTILINE);

    @Test
    void noPackageIsDeclaredInTwoModules() {
        Path root = Path.of("").toAbsolutePath().getParent();
        assertTrue(Files.isRegularFile(root.resolve("pom.xml")), "the reactor root is the parent of " + Path.of("").toAbsolutePath());

        Map<String, Map<String, Set<String>>> packages = declaredPackages(root);

        assertTrue(packages.getOrDefault("org.stagecrew.transport.netty", Map.of()).containsKey("transport-netty"),
                "transport-netty's sources were read from " + root + ": " + packages.keySet());
        assertEquals(List.of(), splits(packages), "a package belongs to one module: move these classes into the module that"
                + " owns the package (transport-netty's src/test, src/jmh or src/jcstress for tests and benchmarks of its"
                + " package-private classes) or give them a package of their own");
    }

    @Test
    void aClassDeclaredInAnotherModulesPackageIsReportedWithItsPathButGeneratedSourcesAreNot(@TempDir Path root) throws IOException {
        write(root, "transport-netty/src/main/java/org/stagecrew/transport/netty/Inbox.java",
                "/* header */\npackage org.stagecrew.transport.netty;\n\nfinal class Inbox {}\n");
        write(root, "benchmarks/src/main/java/org/stagecrew/transport/netty/InboxBenchmark.java",
                "package org.stagecrew.transport.netty;\npublic class InboxBenchmark {}\n");
        for (String name : List.of("Segment", "WriteBudget", "DrainScheduler", "FrameConsumer", "FrameView")) {
            write(root, "transport-netty/src/main/java/org/stagecrew/transport/netty/" + name + ".java",
                    "package org.stagecrew.transport.netty;\nfinal class " + name + " {}\n");
        }
        write(root, "benchmarks/src/main/java/org/stagecrew/benchmarks/Runner.java",
                "package org.stagecrew.benchmarks;\nclass Runner {}\n");
        write(root, "benchmarks/target/generated-sources/org/stagecrew/transport/Generated.java",
                "package org.stagecrew.transport;\nclass Generated {}\n");
        write(root, "transport-netty/src/main/java/org/stagecrew/transport/Transport.java",
                "package org.stagecrew.transport;\ninterface Transport {}\n");

        List<String> splits = splits(declaredPackages(root));

        assertEquals(List.of("org.stagecrew.transport.netty is declared in 2 modules: benchmarks ["
                + "benchmarks/src/main/java/org/stagecrew/transport/netty/InboxBenchmark.java], transport-netty (6 files)"), splits);
    }

    /** Package, then module (the first directory under the root), then the files that declare it there. */
    static Map<String, Map<String, Set<String>>> declaredPackages(Path root) {
        Map<String, Map<String, Set<String>>> packages = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(p -> p.toString().endsWith(".java")).map(root::relativize)
                    .filter(p -> p.getNameCount() > 2 && p.getName(1).toString().equals("src"))
                    .forEach(p -> packageOf(root.resolve(p)).ifPresent(name -> packages
                            .computeIfAbsent(name, k -> new TreeMap<>())
                            .computeIfAbsent(p.getName(0).toString(), k -> new TreeSet<>())
                            .add(p.toString().replace('\\', '/'))));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return packages;
    }

    /** One line per package that more than one module declares, naming each module and its files (or their number, past a few). */
    static List<String> splits(Map<String, Map<String, Set<String>>> packages) {
        return packages.entrySet().stream()
                .filter(e -> e.getValue().size() > 1)
                .map(e -> e.getKey() + " is declared in " + e.getValue().size() + " modules: " + e.getValue().entrySet().stream()
                        .map(m -> m.getKey() + " " + (m.getValue().size() <= FILES_LISTED ? m.getValue() : "(" + m.getValue().size() + " files)"))
                        .collect(Collectors.joining(", ")))
                .collect(Collectors.toList());
    }

    private static Optional<String> packageOf(Path file) {
        try {
            Matcher m = PACKAGE.matcher(Files.readString(file));
            return m.find() ? Optional.of(m.group(1)) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path root, String relative, String text) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
