package org.stagecrew.transport;

/**
 * Who is at the other end of an accepted connection, as the kernel reports it ({@code SO_PEERCRED},
 * see <a href="https://man7.org/linux/man-pages/man7/unix.7.html">unix(7)</a>): read once when the
 * connection is accepted, so it cannot be forged by what the peer sends.
 *
 * <p>The native modes (EPOLL, IO_URING, KQUEUE) know all three numbers. NIO learns only the user
 * and group <em>names</em> from the JDK: there {@code pid} is -1, and {@code uid} and {@code gid}
 * are known (not -1) only when the name is this process's own user or group. LOCAL peers are this
 * process.
 *
 * @param pid the peer's process id, or -1 if unknown
 * @param uid the peer's user id, or -1 if unknown
 * @param gid the peer's primary group id, or -1 if unknown
 * @param user the peer's user name where the mode reports names (NIO), else {@code null}
 */
public record PeerCredentials(long pid, int uid, int gid, String user) {

    /** Credentials with numbers only, as the native modes report them. */
    public PeerCredentials(long pid, int uid, int gid) {
        this(pid, uid, gid, null);
    }

    /** This process's own credentials, which LOCAL-mode peers carry. */
    public static PeerCredentials ofThisProcess() {
        return new PeerCredentials(ProcessHandle.current().pid(), ProcessIdentity.uid(), ProcessIdentity.gid(),
                System.getProperty("user.name"));
    }

    @Override
    public String toString() {
        return "pid " + pid + ", uid " + uid + ", gid " + gid + (user != null ? ", user " + user : "");
    }
}
