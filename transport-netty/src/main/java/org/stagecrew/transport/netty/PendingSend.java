package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/** A queued frame whose sender holds a future: the future completes when the frame is written or fails. */
final class PendingSend {
    final ByteBuf payload;
    final CompletableFuture<Void> future;

    PendingSend(ByteBuf payload, CompletableFuture<Void> future) {
        this.payload = payload;
        this.future = future;
    }
}
