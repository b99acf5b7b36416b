package org.stagecrew.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;
import org.stagecrew.transport.IoMode;

/**
 * Marks a test class (or method) whose tests take a {@link Stage} parameter: registers
 * {@link StageExtension} and configures the stages it creates.
 *
 * <pre>{@code
 * @StagecrewTest
 * class EchoIT {
 *     @Test
 *     void echoes(Stage stage) throws Exception {
 *         Transport me = stage.transport();
 *         Concurrency echo = stage.process(EchoTask.class).start();
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>The annotation nearest to the test wins: a method's over its class's, a class's over its
 * enclosing class's.
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(StageExtension.class)
public @interface StagecrewTest {

    /** The I/O mode of the stage's transports and units unless a test chooses another. Default AUTO. */
    IoMode ioMode() default IoMode.AUTO;

    /**
     * How long, in milliseconds, each unit has to stop gracefully at the end of a test before it is
     * killed. Default {@code 5000}; at least 1.
     */
    long stopTimeoutMillis() default 5_000;
}
