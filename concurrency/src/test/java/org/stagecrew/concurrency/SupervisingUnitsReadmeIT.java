package org.stagecrew.concurrency;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.test.ReadmeSnippets;

/**
 * The README's "Supervising units" example, run as written (between the README-SUPERVISING
 * markers): a supervised process unit answers an ask, is killed, is restarted at its address by its
 * supervisor, and answers again.
 */
@Timeout(value = 120, unit = SECONDS)
class SupervisingUnitsReadmeIT {
    private static final Path README = Path.of("../README.md");

    // README-SUPERVISING-WORKER-BEGIN
    /** Answers each ask with its number doubled. */
    public static final class Doubler implements Task {
        @Override
        public void run(TaskContext ctx) throws Exception {
            while (!ctx.isStopRequested()) {
                try (Frame frame = ctx.transport().receive(Duration.ofSeconds(1))) {
                    if (frame != null && Ask.isRequest(frame)) {
                        Ask.reply(ctx.transport(), frame, Unpooled.copyInt(Ask.body(frame).readInt() * 2));
                    }
                }
            }
        }
    }

    static int askDouble(Transport me, Ask ask, Supervisor supervisor, int n) {
        CompletableFuture<Frame> answer = ask.ask(supervisor.address("doubler"), Unpooled.copyInt(n), Duration.ofSeconds(10));
        try (Frame reply = me.receive(Duration.ofSeconds(10))) {   // your receive loop hands replies to the Ask
            ask.complete(reply);
        }
        try (Frame doubled = answer.join()) {
            return doubled.payload().readInt();
        }
    }
    // README-SUPERVISING-WORKER-END

    @Test
    void theReadmeShowsThisCodeVerbatim() throws Exception {
        Path source = Path.of("src/test/java/org/stagecrew/concurrency/SupervisingUnitsReadmeIT.java");
        ReadmeSnippets.assertReadmeShows(README, source, "// README-SUPERVISING-BEGIN", "// README-SUPERVISING-END");
        ReadmeSnippets.assertReadmeShows(README, source, "// README-SUPERVISING-WORKER-BEGIN", "// README-SUPERVISING-WORKER-END");
    }

    @Test
    void theReadmeExampleRunsAsWritten() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            example();
        } finally {
            System.setOut(out);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        out.print(text);
        assertTrue(text.contains("21 doubled is 42"), text);
        assertTrue(text.contains("exited with 137 (SIGKILL)"), text);
        assertTrue(text.contains("doubler restarted (1)"), text);
        assertTrue(text.contains("after the restart: 42, same address: true"), text);
    }

    void example() throws Exception {
        // README-SUPERVISING-BEGIN
        CompletableFuture<Concurrency> restarted = new CompletableFuture<>();
        try (Transport me = Transport.open();
             Ask ask = new Ask(me);
             Supervisor supervisor = Supervisor.builder("app")
                     .child(Concurrency.process(Doubler.class).name("doubler").parent(me.address()))
                     .strategy(Supervisor.Strategy.ONE_FOR_ONE)
                     .intensity(3, Duration.ofSeconds(30))                   // more than 3 restarts in 30 s: give up
                     .backoff(Duration.ofMillis(100), Duration.ofSeconds(5))
                     .listener(new SupervisorListener() {
                         @Override
                         public void unitRestarted(String child, Concurrency unit, int restart) {
                             System.out.println(child + " restarted (" + restart + ") as pid " + unit.pid().getAsLong());
                             restarted.complete(unit);
                         }
                     })
                     .start()) {
            System.out.println("21 doubled is " + askDouble(me, ask, supervisor, 21));

            Concurrency doubler = supervisor.unit("doubler");
            var address = doubler.address();
            doubler.kill();                                                // SIGKILL, as if it crashed
            System.out.println(doubler.onExit().get(10, SECONDS));        // unit doubler exited with 137 (SIGKILL) after ...

            restarted.get(30, SECONDS);                                    // back, at the same address
            System.out.println("after the restart: " + askDouble(me, ask, supervisor, 21)
                    + ", same address: " + address.equals(supervisor.address("doubler")));
        }
        // README-SUPERVISING-END
        assertEquals(true, restarted.isDone());
    }
}
