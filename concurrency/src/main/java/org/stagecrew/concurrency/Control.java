package org.stagecrew.concurrency;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.stagecrew.transport.Address;

/**
 * The control messages between a parent and a process unit, as UTF-8 text frames. A child sends
 * {@code READY <control address> <pid>} from its task transport to the parent's handshake address
 * (so the frame's sender is the unit's address); anyone may send {@code STOP} to a unit's control
 * address, which is its socket path plus {@value #CONTROL_SUFFIX}; the unit answers {@code STOPPING
 * <pid>} to the sender, so that the requester can wait for that process to exit.
 */
final class Control {
    static final String READY = "READY";
    static final String STOP = "STOP";
    static final String STOPPING = "STOPPING";
    static final String CONTROL_SUFFIX = ".ctl";

    private Control() {
    }

    /** The control address of the unit at {@code unit}. */
    static Address controlAddress(Address unit) {
        return new Address(unit.path() + CONTROL_SUFFIX, unit.isAbstract());
    }

    static ByteBuf text(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    }
}
