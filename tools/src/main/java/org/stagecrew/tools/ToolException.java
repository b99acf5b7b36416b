package org.stagecrew.tools;

/** A failure the command reports in one line, which names the path and what to do; exit status 2. */
final class ToolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ToolException(String message) {
        super(message);
    }
}
