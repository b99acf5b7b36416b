package org.stagecrew.transport.netty;

/**
 * Calls that only code compiled against Netty 4.2 can make (javac on 4.1 refuses them, since the
 * return types do not exist there), for the netty41-tests module to see what such code, a library
 * built on 4.2 say, gets when it runs on 4.1.
 */
public final class CompiledAgainstNetty42 {
    private CompiledAgainstNetty42() {
    }

    /** {@link DomainSockets#ioHandlerFactory()}, returned as an {@code Object}. */
    public static Object ioHandlerFactory(DomainSockets uds) {
        return uds.ioHandlerFactory();
    }
}
