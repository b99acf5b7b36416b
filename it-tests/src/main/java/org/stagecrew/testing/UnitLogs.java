package org.stagecrew.testing;

/**
 * The tails of the logs of the units a failed test started, attached to its failure as a suppressed
 * exception by {@link StageExtension}. It carries no stack trace: its message is the point.
 */
public final class UnitLogs extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the attachment.
     *
     * @param stage the name of the stage whose units wrote the logs
     * @param tails the log tails, as {@link Stage#logTails()} formats them
     */
    public UnitLogs(String stage, String tails) {
        super("logs of the units of stage " + stage + ":\n" + tails, null, false, false);
    }
}
