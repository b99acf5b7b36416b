package org.stagecrew.concurrency;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/** {@link UnitBuilder#build()} refuses, in the parent, every task class a child JVM could not create. */
class TaskClassCheckTest {
    @TempDir
    Path dir;

    String refusal(Class<? extends Task> task) {
        UnitBuilder builder = Concurrency.process(task).name("checked")
                .transportConfig(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).build());
        return assertThrows(IllegalArgumentException.class, builder::build).getMessage();
    }

    static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "\"" + part + "\" in: " + message);
        }
    }

    @Test
    void aNonStaticInnerClassIsRefusedWithTheFix() {
        assertMentions(refusal(OptionTasks.InnerTask.class), OptionTasks.InnerTask.class.getName(), "process unit checked",
                "inner class", "declare it static");
    }

    @Test
    void aClassThatIsNotPublicIsRefusedWithTheFix() {
        assertMentions(refusal(OptionTasks.HiddenTask.class), "is not public", "declare it public");
    }

    @Test
    void aClassWithoutAPublicNoArgumentConstructorIsRefusedWithTheFix() {
        assertMentions(refusal(OptionTasks.NeedsArgumentTask.class), "needs a public no-argument constructor", "add one");
    }

    @Test
    void anAbstractClassIsRefused() {
        assertMentions(refusal(OptionTasks.AbstractTask.class), "is abstract");
    }

    @Test
    void anAnonymousClassAndALambdaAreRefused() {
        Task anonymous = new Task() {
            @Override
            public void run(TaskContext ctx) {
            }
        };
        Task lambda = ctx -> { };
        assertMentions(refusal(anonymous.getClass()), "anonymous");
        assertMentions(refusal(lambda.getClass()), "lambda");
    }

    @Test
    void aPublicStaticClassWithAPublicConstructorIsAccepted() {
        Concurrency.process(UnitTasks.EchoTask.class)
                .transportConfig(TransportConfig.builder().ioMode(IoMode.NIO).socketDirectory(dir).build()).build();
    }
}
