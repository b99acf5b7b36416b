package org.stagecrew.transport.netty;

import java.util.ArrayDeque;

/**
 * The pool of one {@link OutboundConnection}'s {@link WriteCompletion}s: a write takes one, and its
 * completion gives it back once its frames are settled, so that a steady stream of writes allocates
 * no completion and no promise. Holds at most {@value #MAX_POOLED} idle ones; more writes in flight
 * than that allocate, and the extra ones are left to the collector when they complete. A stream of
 * small frames keeps a write per segment slice in flight up to the channel's high watermark (4 MiB by
 * default): with recycled segments that is often more than 256 writes, and at 256 places a 1 KiB
 * stream allocated a completion every few hundred frames. At most about 250 KB per connection are
 * kept after such a burst.
 *
 * <p>Event loop only: writes start and complete there.
 */
final class WriteCompletions {
    static final int MAX_POOLED = 2048;

    private final OutboundConnection connection;
    private final ArrayDeque<WriteCompletion> idle = new ArrayDeque<>();

    WriteCompletions(OutboundConnection connection) {
        this.connection = connection;
    }

    /** A completion for a new write, a slice of {@code segment} if not null. */
    WriteCompletion take(Segment segment) {
        WriteCompletion completion = idle.pollLast();
        if (completion == null) {
            completion = new WriteCompletion(connection, this);
        }
        return completion.start(segment);
    }

    /** Takes back a completion whose write has completed and whose state is cleared. */
    void give(WriteCompletion completion) {
        if (idle.size() < MAX_POOLED) {
            idle.addLast(completion);
        }
    }
}
