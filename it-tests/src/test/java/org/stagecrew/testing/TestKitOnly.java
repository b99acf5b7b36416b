package org.stagecrew.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * Marks a scenario class that only the engine test kit runs (with the configuration parameter
 * {@value StageExtensionTest#TEST_KIT_PARAMETER}); run any other way (an IDE, a plugin that includes
 * nested classes) it is skipped instead of failing or waiting for a partner that never comes.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@EnabledIf(value = "org.stagecrew.testing.StageExtensionTest#launchedByTheTestKit",
        disabledReason = "a scenario for the engine test kit, run by StageExtensionTest and StageTeardownTest")
@interface TestKitOnly {
}
