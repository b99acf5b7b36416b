package org.stagecrew.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.netty.DomainSockets;

/**
 * A socket file bound through the drop-in ({@link DomainSockets#bind}) does not outlive its process
 * when that process exits with the server channel still open (the JVM's exit hook unlinks it and its
 * lock file), and after a SIGKILL, which no hook sees, the next binder replaces the stale file.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DropInExitIT {
    private static final long WAIT_SECONDS = 30;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aProcessThatExitsWithItsServerChannelOpenLeavesNoSocketFileNorLockFile(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        Path path = dir.resolve("exit.sock");
        Process child = startBinder(mode, path, "exit");
        assertTrue(child.waitFor(WAIT_SECONDS, TimeUnit.SECONDS), "the child exits");
        assertEquals(0, child.exitValue());
        assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "socket file left by a JVM that exited");
        assertFalse(Files.exists(Path.of(path + ".lock"), LinkOption.NOFOLLOW_LINKS), "lock file left by a JVM that exited");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = IoMode.class, names = {"EPOLL", "NIO"})
    void afterASigkillTheNextBinderReplacesTheStaleSocketFile(IoMode mode) throws Exception {
        Assumptions.assumeTrue(mode.isAvailable(), () -> mode + " is not available here: " + mode.unavailabilityCause());
        Path path = dir.resolve("killed.sock");
        Process child = startBinder(mode, path, "wait");
        child.destroyForcibly();
        assertTrue(child.waitFor(WAIT_SECONDS, TimeUnit.SECONDS), "the child dies");
        assertTrue(Files.exists(path, LinkOption.NOFOLLOW_LINKS), "SIGKILL leaves the socket file, no hook runs");

        DomainSockets uds = DomainSockets.of(mode);
        EventLoopGroup group = uds.newEventLoopGroup(1);
        try {
            Channel server = uds.bind(new ServerBootstrap().group(group).channel(uds.serverChannelType())
                    .childHandler(new ChannelInboundHandlerAdapter()), path).sync().channel();
            assertTrue(server.isActive());
            server.close().sync();
        } finally {
            assertTrue(group.shutdownGracefully(0, 0, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }

    /** Starts {@link DropInBinder} and returns once it printed "bound"; its output goes to the test's. */
    private static Process startBinder(IoMode mode, Path path, String then) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), DropInBinder.class.getName(),
                mode.name(), path.toString(), then));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<String> bound = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                StringBuilder seen = new StringBuilder();
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.equals("bound")) {
                        return line;
                    }
                    seen.append(line).append('\n');
                }
                return seen.toString();
            } catch (java.io.IOException e) {
                return e.toString();
            }
        });
        try {
            assertEquals("bound", bound.get(WAIT_SECONDS, TimeUnit.SECONDS), "the child's output");
        } catch (Exception | AssertionError e) {
            child.destroyForcibly().waitFor(WAIT_SECONDS, TimeUnit.SECONDS);
            throw e;
        }
        return child;
    }
}
