package org.stagecrew.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's "Recipes" section stays true: it links every recipe of this module with its test,
 * and every file it links exists.
 */
class RecipesReadmeTest {
    private static final Path ROOT = Path.of("..");
    private static final Path README = ROOT.resolve("README.md");
    private static final String RECIPES_DIR = "examples/src/test/java/org/stagecrew/examples";
    private static final Pattern EXAMPLES_LINK = Pattern.compile("\\]\\((examples/[^)\\s]+)\\)");

    @Test
    void theReadmeLinksEveryRecipeAndItsTestAndEveryLinkedFileExists() throws IOException {
        String readme = Files.readString(README);
        assertTrue(readme.contains("### Recipes"), "README.md has a \"### Recipes\" section");

        Set<String> linked = new TreeSet<>();
        Matcher link = EXAMPLES_LINK.matcher(readme);
        while (link.find()) {
            linked.add(link.group(1));
        }
        for (String file : linked) {
            assertTrue(Files.isRegularFile(ROOT.resolve(file)), () -> "README.md links " + file + ", which does not exist");
        }
        assertEquals(recipeFiles(), linked, "recipe files of " + RECIPES_DIR + " (left) and the README's links to them (right)");
    }

    /** Every recipe and recipe test: the classes in the recipes directory, except this test. */
    private static Set<String> recipeFiles() throws IOException {
        try (Stream<Path> files = Files.list(ROOT.resolve(RECIPES_DIR))) {
            return files.map(path -> path.getFileName().toString())
                    .filter(name -> name.endsWith(".java") && !name.equals(RecipesReadmeTest.class.getSimpleName() + ".java"))
                    .map(name -> RECIPES_DIR + "/" + name)
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
