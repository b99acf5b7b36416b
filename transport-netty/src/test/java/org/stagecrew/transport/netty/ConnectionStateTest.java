package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportException;

class ConnectionStateTest {
    private static final Address TO = Address.of(Path.of("/tmp/stagecrew-test/peer.sock"));

    @Test
    void connectionIsAcceptedOnceAndThenFails() {
        ConnectionState state = new ConnectionState(TO);
        assertEquals(ConnectionState.Phase.CONNECTING, state.phase());
        state.accept();
        assertTrue(state.isAccepted());
        TransportException cause = new TransportClosedException("closed");
        assertTrue(state.fail(cause));
        assertEquals(ConnectionState.Phase.FAILED, state.phase());
        assertSame(cause, state.failure());
        assertFalse(state.isAccepted());
    }

    @Test
    void firstFailureWinsAndLaterOnesChangeNothing() {
        ConnectionState state = new ConnectionState(TO);
        TransportException first = new TransportClosedException("first");
        assertTrue(state.fail(first));
        assertFalse(state.fail(new TransportClosedException("second")));
        assertSame(first, state.failure());
    }

    @Test
    void acceptingTwiceFailsLoudlyNamingTheDestination() {
        ConnectionState state = new ConnectionState(TO);
        state.accept();
        IllegalStateException e = assertThrows(IllegalStateException.class, state::accept);
        assertTrue(e.getMessage().contains(TO.toString()) && e.getMessage().contains("from ACCEPTED to ACCEPTED"), e.getMessage());
    }

    @Test
    void aFailedConnectionCannotBeAccepted() {
        ConnectionState state = new ConnectionState(TO);
        state.fail(new TransportClosedException("closed"));
        assertThrows(IllegalStateException.class, state::accept);
        assertEquals(ConnectionState.Phase.FAILED, state.phase());
    }

    @Test
    void onlyTheDrawnTransitionsAreLegal() {
        for (ConnectionState.Phase from : ConnectionState.Phase.values()) {
            for (ConnectionState.Phase to : ConnectionState.Phase.values()) {
                boolean drawn = from == ConnectionState.Phase.CONNECTING && to != ConnectionState.Phase.CONNECTING
                        || from == ConnectionState.Phase.ACCEPTED && to == ConnectionState.Phase.FAILED;
                assertEquals(drawn, from.canMoveTo(to), from + " -> " + to);
            }
        }
        assertNull(new ConnectionState(TO).failure());
    }
}
