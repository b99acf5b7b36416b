package org.stagecrew.transport.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.IllegalReferenceCountException;

/**
 * What the event loop checks of a payload handed over by a sender before it reads it, and how it
 * lets go of one that a caller's bug broke. A payload's owner may release it, or a buffer under it
 * (a component of a composite, the buffer a slice views), after the hand-over: reading it then
 * throws, or reads freed memory. Stateless; any thread.
 */
final class PayloadChecks {
    /** Nested composites and views deeper than this are not looked into: the copy's own check catches them. */
    private static final int MAX_DEPTH = 8;

    private PayloadChecks() {
    }

    /**
     * Whether {@code payload} and every buffer under it (the buffer a derived view wraps, each component
     * of a composite) are still live. A plain buffer costs one count read; a composite, a look at each
     * component.
     */
    static boolean isLive(ByteBuf payload) {
        return isLive(payload, 0);
    }

    private static boolean isLive(ByteBuf buf, int depth) {
        if (buf.refCnt() == 0) {
            return false;
        }
        if (depth == MAX_DEPTH) {
            return true;
        }
        ByteBuf under = buf.unwrap();
        if (under != null) {
            return isLive(under, depth + 1);
        }
        if (buf instanceof CompositeByteBuf) {
            CompositeByteBuf composite = (CompositeByteBuf) buf;
            for (int i = 0; i < composite.numComponents(); i++) {
                ByteBuf component;
                try {
                    component = composite.internalComponent(i); // a view, made on first use: of a freed buffer, it throws
                } catch (IllegalReferenceCountException e) {
                    return false;
                }
                if (!isLive(component, depth + 1)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Releases the transport's reference to a payload that failed, unless its owner already released it;
     * a composite whose component its owner released throws as it frees that component: ignored, the
     * component is gone already.
     */
    static void releaseFailed(ByteBuf payload) {
        if (payload.refCnt() == 0) {
            return;
        }
        try {
            payload.release();
        } catch (IllegalReferenceCountException e) {
            // A buffer under it was released by its owner: nothing of ours is left to free.
        }
    }
}
