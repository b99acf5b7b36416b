package org.stagecrew.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code stagecrew-bom} has no parent (so that importing it brings nothing of this build's own
 * dependency management): this keeps it in step with the build by hand-checked facts instead.
 */
class BomTest {

    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();

    @Test
    void bomPinsTheNettyReleaseTheBuildUses() throws Exception {
        assertEquals(property(read("pom.xml"), "netty.version"), property(read("bom/pom.xml"), "netty.version"),
                "netty.version in bom/pom.xml and pom.xml");
        assertTrue(read("bom/pom.xml").contains("<artifactId>netty-bom</artifactId>"), "the BOM imports netty-bom");
    }

    @Test
    void bomListsEveryLibraryModuleAtTheBuildsVersion() throws Exception {
        String bom = read("bom/pom.xml");
        assertEquals(firstVersion(read("pom.xml")), firstVersion(bom), "the BOM's version and the parent's");
        List<String> libraries = new ArrayList<>();
        for (String module : List.of("transport-netty", "concurrency", "it-tests")) {
            Matcher artifact = Pattern.compile("</parent>\\s*<artifactId>([^<]+)</artifactId>").matcher(read(module + "/pom.xml"));
            assertTrue(artifact.find(), module + "/pom.xml names its artifactId after its parent");
            libraries.add(artifact.group(1));
        }
        for (String library : libraries) {
            assertTrue(bom.contains("<artifactId>" + library + "</artifactId>"), () -> "bom/pom.xml manages " + library);
        }
    }

    private static String read(String relative) throws Exception {
        return Files.readString(ROOT.resolve(relative));
    }

    private static String property(String pom, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</" + Pattern.quote(name) + ">").matcher(pom);
        assertTrue(m.find(), "property " + name);
        return m.group(1);
    }

    /** The project's own version: the first version element after the project's artifactId. */
    private static String firstVersion(String pom) {
        Matcher m = Pattern.compile("<artifactId>stagecrew-(?:parent|bom)</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), "project version");
        return m.group(1);
    }
}
