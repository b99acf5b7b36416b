package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.PeerDiedException;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

class FailuresTest {
    private static final Address PEER = Address.of("/run/stagecrew/peer.sock");

    /** UnitDeathIT saw it: the frame in the socket when the peer was killed failed untyped, the rest with PeerDiedException. */
    @Test
    void aFrameCutByAPeersDeathFailsAsThePeersDeathNamingTheCut() {
        PeerDiedException died = new PeerDiedException(PEER, 4242, "Broken pipe", new IOException("Broken pipe"));
        TransportException cut = Failures.cutByFailure(PEER, died, 764, 1028);
        PeerDiedException typed = assertInstanceOf(PeerDiedException.class, cut);
        assertEquals(PEER, typed.peer());
        assertEquals(OptionalLong.of(4242), typed.pid());
        assertTrue(cut.getMessage().contains("764 of its 1028 bytes"), cut::getMessage);
        assertSame(died, cut.getCause());
    }

    @Test
    void aFrameCutByAnOrderlyCloseFailsAsAClose() {
        TransportClosedException closed = new TransportClosedException("transport " + PEER + " is closing");
        TransportException cut = Failures.cutByFailure(PEER, closed, 10, 68);
        assertEquals(TransportClosedException.class, cut.getClass());
        assertTrue(cut.getMessage().contains("after 10 of this frame's 68 bytes"), cut::getMessage);
    }
}
