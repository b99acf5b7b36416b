package org.stagecrew.transport.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.PeerCredentials;

/** The checker of the ordering tests notices what it is meant to notice. */
class SequencedFramesTest {

    private static final Address A = Address.of("/tmp/a.sock");
    private static final Address B = Address.of("/tmp/b.sock");

    @Test
    void framesInOrderPerSourcePass() {
        SequencedFrames.Checker checker = new SequencedFrames.Checker(2, true);

        deliver(checker, A, 0, 0);
        deliver(checker, B, 1, 0);
        deliver(checker, A, 0, 1);
        deliver(checker, B, 1, 1);

        assertNull(checker.firstError());
        assertEquals(2, checker.inOrder(0));
        assertEquals(4, checker.received());
    }

    @Test
    void aMissingFrameIsNoticed() {
        SequencedFrames.Checker checker = new SequencedFrames.Checker(1, true);

        deliver(checker, A, 0, 0);
        deliver(checker, A, 0, 2);

        assertNotNull(checker.firstError());
        assertTrue(checker.firstError().contains("expected seq 1 but got 2"), checker.firstError());
    }

    @Test
    void aCorruptedByteIsNoticed() {
        SequencedFrames.Checker checker = new SequencedFrames.Checker(1, true);
        ByteBuf payload = SequencedFrames.payload(0, 60);
        try {
            payload.setByte(payload.writerIndex() - 1, payload.getByte(payload.writerIndex() - 1) + 1);
            for (long seq = 0; seq < 60; seq++) {
                deliver(checker, A, 0, seq);
            }
            checker.onFrame(new TestFrame(A, payload));
        } finally {
            payload.release();
        }

        assertTrue(String.valueOf(checker.firstError()).contains("corrupted"), checker.firstError());
    }

    @Test
    void oneSourceFromTwoSendersIsNoticed() {
        SequencedFrames.Checker checker = new SequencedFrames.Checker(1, true);

        deliver(checker, A, 0, 0);
        deliver(checker, B, 0, 1);

        assertNotNull(checker.firstError());
    }

    private static void deliver(SequencedFrames.Checker checker, Address sender, int source, long seq) {
        ByteBuf payload = SequencedFrames.payload(source, seq);
        try {
            checker.onFrame(new TestFrame(sender, payload));
        } finally {
            payload.release();
        }
    }

    /** A view frame over a buffer the test owns. */
    private record TestFrame(Address sender, ByteBuf payload) implements Frame {
        @Override
        public PeerCredentials credentials() {
            return PeerCredentials.ofThisProcess();
        }

        @Override
        public boolean isOwned() {
            return false;
        }

        @Override
        public Frame retain() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Frame copy() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
        }
    }
}
