package org.stagecrew.tools;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code stagecrew}: looks at the endpoints of a socket directory from outside their processes.
 * Exit status 0 on success, 1 when a command did not do all it was asked, 2 on a usage or I/O error
 * (the message names the path and what to do).
 */
@Command(name = "stagecrew", mixinStandardHelpOptions = true, version = "stagecrew 0.1.0",
        description = "Inspects the stagecrew endpoints of a socket directory.",
        subcommands = {ListCommand.class, CleanCommand.class, StatCommand.class, TopCommand.class, PingCommand.class})
public final class StagecrewCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Runs the command with {@code args} and exits with its status. */
    public static void main(String[] args) {
        System.exit(execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command with {@code args}, writing to {@code out} and {@code err}; returns the exit status. */
    static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine line = new CommandLine(new StagecrewCommand());
        line.setOut(out);
        line.setErr(err);
        line.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ToolException) {
                cmd.getErr().println("stagecrew: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return line.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
