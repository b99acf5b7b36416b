package org.stagecrew.it;

import static org.stagecrew.it.RawClient.ACCEPTED;
import static org.stagecrew.it.RawClient.MALFORMED_HELLO;
import static org.stagecrew.it.RawClient.PROTOCOL_ERROR;
import static org.stagecrew.it.RawClient.UNSUPPORTED_VERSION;
import static org.stagecrew.it.RawClient.concat;
import static org.stagecrew.it.RawClient.frame;
import static org.stagecrew.it.RawClient.header;
import static org.stagecrew.it.RawClient.hello;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The hostile raw clients of {@link HostileInputIT}, each on its own thread of this JVM, against one
 * socket file: they run until {@link #stop()} (each at least {@link #MIN_ROUNDS} rounds), check
 * every answer against PROTOCOL.md and record it in an {@link OutcomeTable}. A wrong answer becomes a
 * {@linkplain #problems() problem}, never an exception on a client thread. Thread-safe.
 */
final class HostileClients {
    /** How long a refused client may wait for the notice and the end of the stream. */
    static final Duration DISCONNECT_BOUND = Duration.ofSeconds(5);
    static final int MIN_ROUNDS = 3;
    static final int BURST = 1_000;
    static final int BURST_THREADS = 4;
    static final long SEED = 0x5C12_4A7EL;

    private final Path socket;
    private final int maxFrameLength;
    private final Duration helloTimeout;
    private final OutcomeTable table;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger wholeFramesSent = new AtomicInteger();
    private final AtomicInteger rejectionsCaused = new AtomicInteger();
    private final AtomicInteger protocolErrorsCaused = new AtomicInteger();
    private final AtomicInteger truncationsCaused = new AtomicInteger();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "hostile-client");
        t.setDaemon(true);
        return t;
    });
    private final CountDownLatch active = new CountDownLatch(5);
    private final Map<String, long[]> windows = new ConcurrentHashMap<>();

    HostileClients(Path socket, int maxFrameLength, Duration helloTimeout, OutcomeTable table) {
        this.socket = socket;
        this.maxFrameLength = maxFrameLength;
        this.helloTimeout = helloTimeout;
        this.table = table;
    }

    /** Starts every client. */
    void start() {
        loop("(a) garbage", i -> garbage(new SplittableRandom(SEED + i)));
        loop("(b) oversize", this::oversize);
        loop("(c) silent", this::silent);
        loop("(d) truncated", this::truncated);
        loop("(g) hello variants", i -> helloVariants());
    }

    /** Starts the burst of {@value #BURST} connection attempts from {@value #BURST_THREADS} threads. */
    void startBurst() {
        AtomicInteger next = new AtomicInteger();
        for (int t = 0; t < BURST_THREADS; t++) {
            pool.execute(() -> {
                for (int i; (i = next.getAndIncrement()) < BURST; ) {
                    run("(e) burst", i, this::burstAttempt);
                }
            });
        }
    }

    /** Waits until every client has started its work (loops have finished their first round). */
    boolean awaitActive(Duration timeout) throws InterruptedException {
        return active.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    void stop() {
        stopped.set(true);
    }

    /** Waits for every client to finish; false if one is still running after {@code timeout}. */
    boolean join(Duration timeout) throws InterruptedException {
        stopped.set(true);
        pool.shutdown();
        return pool.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    List<String> problems() {
        synchronized (problems) {
            return List.copyOf(problems);
        }
    }

    /** Whole frames hostile clients sent before their bad bytes: the endpoint must deliver each one. */
    int wholeFramesSent() {
        return wholeFramesSent.get();
    }

    /** Connections the endpoint must have answered with a rejecting notice. */
    int rejectionsCaused() {
        return rejectionsCaused.get();
    }

    /** Accepted connections the endpoint must have closed for a protocol error. */
    int protocolErrorsCaused() {
        return protocolErrorsCaused.get();
    }

    /** Connections closed inside a frame, which the endpoint must log. */
    int truncationsCaused() {
        return truncationsCaused.get();
    }

    private interface Round {
        void run(int i) throws Exception;
    }

    private void loop(String name, Round round) {
        pool.execute(() -> {
            for (int i = 0; !stopped.get() || i < MIN_ROUNDS; i++) {
                run(name, i, round);
                if (i == 0) {
                    active.countDown();
                }
            }
        });
    }

    private void run(String name, int i, Round round) {
        long start = System.nanoTime();
        try {
            round.run(i);
        } catch (Exception | AssertionError e) {
            problem(name + " round " + i + " failed: " + e);
        }
        long end = System.nanoTime();
        windows.merge(name, new long[] {start, end}, (a, b) -> new long[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
    }

    /**
     * Each client's active window, {@code System.nanoTime()} of the start of its first round and the
     * end of its last one (CLOCK_MONOTONIC on Linux, so comparable with the endpoint's), by name.
     */
    Map<String, long[]> windows() {
        return new TreeMap<>(windows);
    }

    private void problem(String what) {
        if (problems.size() < 50) {
            problems.add(what);
        }
    }

    /** Records the answer and checks the codes in order, a reason fragment of the last notice, and the end of the stream. */
    private void expect(String input, RawClient.Answer answer, List<Integer> codes, String reasonPart) {
        table.record(input, answer);
        List<RawClient.Notice> notices = answer.notices();
        boolean ok = answer.codes().equals(codes) && answer.eof()
                && (reasonPart == null || notices.get(notices.size() - 1).reason().contains(reasonPart));
        if (!ok) {
            problem(input + ": expected codes " + codes + (reasonPart != null ? " with \"" + reasonPart + "\"" : "")
                    + " and EOF within " + DISCONNECT_BOUND.toMillis() + " ms, got " + answer.describe());
        }
        if (codes.contains(PROTOCOL_ERROR)) {
            protocolErrorsCaused.incrementAndGet();
        } else if (!codes.isEmpty() && codes.get(codes.size() - 1) != ACCEPTED) {
            rejectionsCaused.incrementAndGet();
        }
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** (a) Random bytes whose first four are not "SCRW"; a new connection each round. */
    private void garbage(SplittableRandom random) throws Exception {
        byte[] junk = new byte[64];
        random.nextBytes(junk);
        if (junk[0] == 0x53) {
            junk[0] = 0; // "S" would start the right magic
        }
        try (RawClient c = RawClient.connect(socket)) {
            c.write(junk);
            expect("(a) 64 random bytes (wrong magic), reconnecting after each refusal",
                    c.readToEnd(DISCONNECT_BOUND), List.of(MALFORMED_HELLO), "bad magic");
        }
    }

    /** (b) A valid hello, one whole frame, then a frame length above the maximum; three variants in turn. */
    private void oversize(int i) throws Exception {
        try (RawClient c = RawClient.connect(socket)) {
            byte[] hello = hello("/hostile/oversize-" + i);
            switch (i % 3) {
                case 0 -> {
                    long length = maxFrameLength + 1L;
                    c.write(concat(hello, frame(HostileTasks.WHOLE), header(length, 64)));
                    wholeFramesSent.incrementAndGet();
                    expect("(b) valid hello + 1 whole frame + length maxFrameLength+1 (" + length + "), one write",
                            c.readToEnd(DISCONNECT_BOUND), List.of(ACCEPTED, PROTOCOL_ERROR),
                            "frame length " + length + " exceeds maxFrameLength " + maxFrameLength);
                }
                case 1 -> {
                    c.write(hello);
                    RawClient.Answer accept = c.readNotice(DISCONNECT_BOUND);
                    c.write(concat(frame(HostileTasks.WHOLE), header(0xFFFF_FFFFL, 16)));
                    wholeFramesSent.incrementAndGet();
                    RawClient.Answer rest = c.readToEnd(DISCONNECT_BOUND);
                    expect("(b) valid hello, ACCEPTED read, then 1 whole frame + length 2^32-1",
                            RawClient.Answer.joined(accept, rest), List.of(ACCEPTED, PROTOCOL_ERROR), "frame length 4294967295 exceeds");
                }
                default -> {
                    byte[] junk = new byte[64];
                    new SplittableRandom(SEED ^ i).nextBytes(junk);
                    junk[0] = (byte) (junk[0] | 0x01); // a length of at least 2^24, above the maximum
                    c.write(concat(hello, junk));
                    expect("(b) valid hello + 64 random bytes as frame data", c.readToEnd(DISCONNECT_BOUND),
                            List.of(ACCEPTED, PROTOCOL_ERROR), "exceeds maxFrameLength " + maxFrameLength);
                }
            }
        }
    }

    /** (c) A peer that never completes its hello: says nothing, or the first 5 of its bytes. */
    private void silent(int i) throws Exception {
        try (RawClient c = RawClient.connect(socket)) {
            String input;
            if (i % 2 == 0) {
                input = "(c) connects and never says hello (helloTimeout " + helloTimeout.toMillis() + " ms)";
            } else {
                c.write(Arrays.copyOf(hello("/hostile/slow"), 5));
                input = "(c) slow hello: 5 of its 20 bytes, then silence";
            }
            RawClient.Answer answer = c.readToEnd(DISCONNECT_BOUND);
            long waited = c.millisSinceConnect();
            expect(input, answer, List.of(MALFORMED_HELLO), "no complete hello within " + helloTimeout.toMillis() + " ms");
            if (waited < helloTimeout.toMillis() - 50) {
                problem(input + ": cut off after " + waited + " ms, before the hello timeout of " + helloTimeout.toMillis() + " ms");
            }
        }
    }

    /** (d) A valid hello, then a whole frame and a frame cut short, then a half-close or a close. */
    @SuppressWarnings("try") // one variant closes the connection mid-frame on purpose, inside its try block
    private void truncated(int i) throws Exception {
        try (RawClient c = RawClient.connect(socket)) {
            c.write(hello("/hostile/truncated-" + i));
            RawClient.Answer accept = c.readNotice(DISCONNECT_BOUND);
            if (!accept.codes().equals(List.of(ACCEPTED))) {
                problem("(d) truncated: hello not accepted: " + accept.describe());
                return;
            }
            wholeFramesSent.incrementAndGet();
            truncationsCaused.incrementAndGet();
            switch (i % 3) {
                case 0 -> {
                    c.write(concat(frame(HostileTasks.WHOLE), header(1000, 100)));
                    c.shutdownOutput();
                    expect("(d) valid hello, 1 whole frame, 104 of a 1004-byte frame, then half-close (shutdownOutput)",
                            RawClient.Answer.joined(accept, c.readToEnd(DISCONNECT_BOUND)), List.of(ACCEPTED), null);
                }
                case 1 -> {
                    c.write(concat(frame(HostileTasks.WHOLE), new byte[] {0, 0}));
                    c.shutdownOutput();
                    expect("(d) valid hello, 1 whole frame, 2 of a length field's 4 bytes, then half-close",
                            RawClient.Answer.joined(accept, c.readToEnd(DISCONNECT_BOUND)), List.of(ACCEPTED), null);
                }
                default -> {
                    c.write(concat(frame(HostileTasks.WHOLE), header(1000, 100)));
                    c.close();
                    table.record("(d) valid hello, 1 whole frame, 104 of a 1004-byte frame, then close",
                            new RawClient.Answer(accept.bytes(), false, "closed by the client; nothing more to read", accept.millis()));
                }
            }
        }
    }

    /** Malformed hellos, each once per round, and a valid hello written byte by byte as a control. */
    private void helloVariants() throws Exception {
        once("(g) hello with version 3", hello(3, text("/hostile/v3")), List.of(UNSUPPORTED_VERSION), "protocol version 3");
        once("(g) hello with address length 0", hello(1, new byte[0]), List.of(MALFORMED_HELLO), "address length 0");
        once("(g) hello header declaring address length 1025", Arrays.copyOf(hello(1, new byte[1025]), 7),
                List.of(MALFORMED_HELLO), "address length 1025");
        once("(g) hello with a 200-byte address (longer than sun_path)", hello("/" + "x".repeat(199)), List.of(MALFORMED_HELLO),
                "invalid sender address");
        once("(g) hello with a NUL inside the address", hello("/hostile/a\0b"), List.of(MALFORMED_HELLO), "invalid sender address");
        try (RawClient c = RawClient.connect(socket)) {
            for (byte b : hello("/hostile/byte-by-byte")) {
                c.write(new byte[] {b});
            }
            RawClient.Answer accept = c.readNotice(DISCONNECT_BOUND);
            table.record("(g) control: valid hello written byte by byte, then close", accept);
            if (!accept.codes().equals(List.of(ACCEPTED))) {
                problem("a valid hello written byte by byte was not accepted: " + accept.describe());
            }
        }
    }

    private void once(String input, byte[] bytes, List<Integer> codes, String reasonPart) throws Exception {
        try (RawClient c = RawClient.connect(socket)) {
            c.write(bytes);
            expect(input, c.readToEnd(DISCONNECT_BOUND), codes, reasonPart);
        }
    }

    /** (e) One of the burst's attempts: even ones connect and close at once, odd ones send 16 bytes of garbage. */
    private void burstAttempt(int i) throws Exception {
        try (RawClient c = RawClient.connect(socket)) {
            if (i % 2 == 0) {
                table.record("(e) burst of " + BURST + " attempts from " + BURST_THREADS + " threads: connect, close at once",
                        new RawClient.Answer(new byte[0], false, "closed by the client; connect succeeded", 0));
                return;
            }
            c.write(text("GET / HTTP/1.0\r\n"));
            expect("(e) burst of " + BURST + " attempts from " + BURST_THREADS + " threads: connect, 16 bytes of garbage",
                    c.readToEnd(DISCONNECT_BOUND), List.of(MALFORMED_HELLO), "bad magic 0x47455420");
        }
    }
}
