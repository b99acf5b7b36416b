package org.stagecrew.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Frame;
import org.stagecrew.transport.FrameTooLargeException;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.PeerRejectedException;
import org.stagecrew.transport.PeerCredentials;
import org.stagecrew.transport.ProtocolException;
import org.stagecrew.transport.Transport;
import org.stagecrew.transport.TransportClosedException;
import org.stagecrew.transport.TransportConfig;

/** {@link FrameCodec} in pipelines of one's own: against real transports, and byte by byte. */
@Timeout(60)
class FrameCodecTest {
    private static final long WAIT_SECONDS = 10;
    private static final Duration WAIT = Duration.ofSeconds(WAIT_SECONDS);

    /** A raw Netty peer built from the codec talks to a real {@link Transport} over every available mode. */
    @Nested
    class AgainstARealTransport {
        private static final int TRANSPORT_MAX = 200_000;
        private static final String RAW_SERVER_FILE = "raw-server.sock";

        @TempDir
        Path dir;

        private final List<Channel> accepted = new CopyOnWriteArrayList<>();
        private final List<Channel> channels = new ArrayList<>();
        private final List<Transport> transports = new ArrayList<>();
        private final List<EventLoopGroup> groups = new ArrayList<>();

        /** The rest of this class runs on Netty 4.1 too (netty41-tests); a Transport needs 4.2. */
        @BeforeEach
        void needsATransport() {
            Assumptions.assumeTrue(NettyVersions.hasIoEventLoops(), "a Transport needs Netty 4.2, and this is " + NettyVersions.transportVersion());
        }

        /**
         * Raw channels (accepted ones first), then transports, then the raw event loops: a LOCAL-mode
         * channel tells its peer that it closed by a task on the peer's event loop, so both loops must
         * outlive the closing.
         */
        @AfterEach
        void closeEverything() throws Exception {
            for (Channel channel : accepted) {
                channel.close().get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            for (Channel channel : channels) {
                channel.close().get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            transports.forEach(Transport::close);
            for (EventLoopGroup group : groups) {
                assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                        "event loop group terminated");
            }
            Files.deleteIfExists(dir.resolve(RAW_SERVER_FILE)); // Netty unlinks it on close; this covers a failed close
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
        void aRawClientsFramesReachTheTransportAttributedToTheAddressItsHelloClaimed(IoMode mode) throws Exception {
            Transport transport = openTransport(mode);
            Address self = Address.of(dir.resolve("raw-client.sock"));
            Recorder client = new Recorder();
            Channel channel = connect(mode, transport.address(),
                    FrameCodec.connectorHello(self, transport.address()), FrameCodec.encoder(), client);
            List<String> sent = List.of("first", "", "third", "x".repeat(100_000), "");
            for (String payload : sent) {
                channel.write(Unpooled.copiedBuffer(payload, StandardCharsets.UTF_8));
            }
            channel.flush();

            for (String expected : sent) {
                try (Frame frame = transport.receive(WAIT)) {
                    assertNotNull(frame, "no frame within " + WAIT);
                    assertEquals(self, frame.sender());
                    assertEquals(expected, frame.payload().toString(StandardCharsets.UTF_8));
                }
            }
            assertEquals(new FrameCodec.HelloAccepted(transport.address(), TRANSPORT_MAX), client.next());
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
        void aRawClientWhoseFrameIsAboveTheTransportsMaximumGetsAProtocolErrorAfterTheFramesBeforeIt(IoMode mode)
                throws Exception {
            Transport transport = openTransport(mode);
            Address self = Address.of(dir.resolve("raw-client.sock"));
            Recorder client = new Recorder();
            Channel channel = connect(mode, transport.address(),
                    FrameCodec.connectorHello(self, transport.address()), FrameCodec.encoder(), client);
            channel.write(Unpooled.copiedBuffer("fits", StandardCharsets.UTF_8));
            channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[TRANSPORT_MAX + 1]));

            try (Frame frame = transport.receive(WAIT)) {
                assertNotNull(frame, "the frame before the long one was not delivered");
                assertEquals("fits", frame.payload().toString(StandardCharsets.UTF_8));
            }
            assertInstanceOf(FrameCodec.HelloAccepted.class, client.next());
            PeerRejectedException rejected = assertInstanceOf(PeerRejectedException.class, client.next());
            assertEquals(5, rejected.code(), rejected.getMessage());
            assertEquals(5, rejected.code());
            assertTrue(rejected.getMessage().contains("PROTOCOL_ERROR"), rejected.getMessage());
            assertTrue(rejected.reason().contains(Integer.toString(TRANSPORT_MAX)), rejected.reason());
            channel.closeFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
        void aRawClientWhoseHelloTheTransportRejectsGetsPeerRejectedExceptionWithTheReason(IoMode mode) throws Exception {
            Transport transport = openTransport(mode);
            Address self = Address.of(dir.resolve("raw-client.sock"));
            Recorder client = new Recorder();
            Channel channel = connect(mode, transport.address(), new HelloVersionForger(9),
                    FrameCodec.connectorHello(self, transport.address()), FrameCodec.encoder(), client);

            PeerRejectedException rejected = assertInstanceOf(PeerRejectedException.class, client.next());
            assertEquals(1, rejected.code());
            assertEquals("protocol version 9 is not supported; this endpoint speaks 1 and 2", rejected.reason());
            assertTrue(rejected.getMessage().contains("(UNSUPPORTED_VERSION)"), rejected.getMessage());
            assertTrue(rejected.getMessage().contains(transport.address().toString()), rejected.getMessage());
            channel.closeFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNull(transport.receive(Duration.ofMillis(50)), "a rejected connection delivered a frame");
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
        void aRawServerGetsTheTransportsHelloThenEveryFrameInOrder(IoMode mode) throws Exception {
            Transport transport = openTransport(mode);
            BlockingQueue<Object> events = new LinkedBlockingQueue<>();
            Address self = bindRawServer(mode, 4096, events);
            List<String> sent = new ArrayList<>();
            List<CompletableFuture<Void>> written = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                String payload = i % 7 == 0 ? "" : "frame-" + i + "-" + "y".repeat(i * 13 % 4000);
                sent.add(payload);
                written.add(transport.send(self, Unpooled.copiedBuffer(payload, StandardCharsets.UTF_8)));
            }
            CompletableFuture.allOf(written.toArray(CompletableFuture[]::new)).get(WAIT_SECONDS, TimeUnit.SECONDS);

            Recorder server = new Recorder(events);
            assertHelloFrom(transport, server.next());
            for (int i = 0; i < sent.size(); i++) {
                assertEquals(sent.get(i), server.next(), "frame " + i);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = IoMode.class, names = "AUTO", mode = EnumSource.Mode.EXCLUDE)
        void aTransportKeepsToTheMaximumARawServerAnnouncesAndKeepsTheConnection(IoMode mode) throws Exception {
            Transport transport = openTransport(mode);
            BlockingQueue<Object> events = new LinkedBlockingQueue<>();
            Address self = bindRawServer(mode, 16, events);
            transport.send(self, Unpooled.copiedBuffer("sixteen bytes ok", StandardCharsets.UTF_8)).get(WAIT_SECONDS, TimeUnit.SECONDS);

            CompletableFuture<Void> tooLong = transport.send(self, Unpooled.copiedBuffer("seventeen bytes!!", StandardCharsets.UTF_8));
            ExecutionException failure = assertThrows(ExecutionException.class, () -> tooLong.get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertInstanceOf(FrameTooLargeException.class, failure.getCause());
            transport.send(self, Unpooled.copiedBuffer("after", StandardCharsets.UTF_8)).get(WAIT_SECONDS, TimeUnit.SECONDS);

            Recorder server = new Recorder(events);
            assertHelloFrom(transport, server.next());
            assertEquals("sixteen bytes ok", server.next());
            assertEquals("after", server.next());
        }

        private Transport openTransport(IoMode mode) {
            Assumptions.assumeTrue(mode.isAvailable(), () -> "IoMode." + mode + " is not available here: "
                    + mode.unavailabilityCause());
            Transport transport = Transport.open(TransportConfig.builder().socketDirectory(dir).ioMode(mode)
                    .maxFrameLength(TRANSPORT_MAX).build());
            transports.add(transport);
            return transport;
        }

        private EventLoopGroup group(DomainSockets uds) {
            EventLoopGroup group = uds.newEventLoopGroup(1);
            groups.add(group);
            return group;
        }

        private Channel connect(IoMode mode, Address to, ChannelHandler... pipeline) throws Exception {
            DomainSockets uds = DomainSockets.of(mode);
            ChannelFuture connected = new Bootstrap().group(group(uds)).channel(uds.channelType())
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(pipeline);
                        }
                    })
                    .connect(uds.socketAddress(to));
            connected.get(WAIT_SECONDS, TimeUnit.SECONDS);
            channels.add(connected.channel());
            return connected.channel();
        }

        /** Binds [listenerHello, decoder, a recorder] at a socket file in {@link #dir} and returns its address. */
        private Address bindRawServer(IoMode mode, int maxFrameLength, BlockingQueue<Object> events) throws Exception {
            DomainSockets uds = DomainSockets.of(mode);
            Address self = Address.of(dir.resolve(RAW_SERVER_FILE));
            ChannelFuture bound = new ServerBootstrap().group(group(uds)).channel(uds.serverChannelType())
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.add(ch);
                            ch.pipeline().addLast(FrameCodec.listenerHello(self, maxFrameLength, WAIT),
                                    FrameCodec.decoder(maxFrameLength), new Recorder(events));
                        }
                    })
                    .bind(uds.socketAddress(self));
            bound.get(WAIT_SECONDS, TimeUnit.SECONDS);
            channels.add(bound.channel());
            return self;
        }
    }

    /** The codec's handlers fed and drained by hand, with the bytes that PROTOCOL.md describes. */
    @Nested
    class InAnEmbeddedChannel {
        private final Address self = Address.of("/tmp/a.sock");
        private final Address listener = Address.of("/tmp/b.sock");
        private final Recorder recorder = new Recorder();
        private EmbeddedChannel connector;

        @BeforeEach
        void openConnector() {
            connector = new EmbeddedChannel(FrameCodec.connectorHello(self, listener), FrameCodec.encoder(), recorder);
        }

        @AfterEach
        void releaseEverything() {
            connector.finishAndReleaseAll();
        }

        @Test
        void theConnectorSendsTheHelloOfTheProtocolExampleAndFramesAsLengthAndPayload() {
            assertEquals("53435257" + "01" + "000b" + "2f746d702f612e736f636b", readOutboundHex(connector));

            ByteBuf payload = Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8);
            connector.writeOutbound(payload);
            assertEquals("00000005", readOutboundHex(connector));
            ByteBuf written = connector.readOutbound();
            try {
                assertSame(payload, written, "the encoder copied the payload");
                assertEquals("68656c6c6f", ByteBufUtil.hexDump(written));
            } finally {
                written.release();
            }
        }

        @Test
        void anAcceptedNoticeFiresHelloAcceptedWithTheListenersMaximumEvenWhenItArrivesByteByByte() {
            ByteBuf notice = hex("53435257" + "01" + "00" + "0004" + "01000000");
            while (notice.isReadable()) {
                connector.writeInbound(notice.readRetainedSlice(1));
            }
            notice.release();

            assertEquals(new FrameCodec.HelloAccepted(listener, 16 * 1024 * 1024), recorder.next());
            assertTrue(connector.isActive());
        }

        @Test
        void anAcceptedNoticeWithoutADetailMeansNoStatedMaximum() {
            connector.writeInbound(notice(0, new byte[0]));
            assertEquals(new FrameCodec.HelloAccepted(listener, Long.MAX_VALUE), recorder.next());
        }

        @ParameterizedTest(name = "code {0}")
        @ValueSource(ints = {1, 2, 3, 4, 5})
        void aRejectingNoticeFailsTheChannelWithPeerRejectedExceptionAndClosesIt(int code) {
            connector.writeInbound(notice(code, "you shall not pass".getBytes(StandardCharsets.UTF_8)));

            PeerRejectedException rejected = assertInstanceOf(PeerRejectedException.class, recorder.next());
            assertEquals(code, rejected.code());
            assertEquals("you shall not pass", rejected.reason());
            assertTrue(rejected.getMessage().contains(listener.toString()), rejected.getMessage());
            assertFalse(connector.isOpen(), "channel still open after a rejection");
            assertNull(recorder.poll(), "more than one failure reported");
        }

        @Test
        void aShuttingDownNoticeAfterTheAcceptanceFailsTheChannelWithTransportClosedException() {
            connector.writeInbound(notice(0, new byte[] {0, 0, 16, 0}));
            connector.writeInbound(notice(6, "transport closed".getBytes(StandardCharsets.UTF_8)));

            assertEquals(new FrameCodec.HelloAccepted(listener, 4096), recorder.next());
            TransportClosedException closed = assertInstanceOf(TransportClosedException.class, recorder.next());
            assertTrue(closed.getMessage().contains("closing") && closed.getMessage().contains("transport closed"),
                    closed.getMessage());
            assertFalse(connector.isOpen());
        }

        @Test
        void anAnswerThatIsNotAStagecrewNoticeFailsTheChannelWithProtocolException() {
            connector.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 400 Bad Request\r\n", StandardCharsets.US_ASCII));

            ProtocolException wrong = assertInstanceOf(ProtocolException.class, recorder.next());
            assertTrue(wrong.getMessage().contains("0x48545450"), wrong.getMessage());
            assertFalse(connector.isOpen());
        }

        @Test
        void theDecoderDeliversTheFramesBeforeALongOneThenSendsAProtocolErrorNoticeFailsAndCloses() {
            Recorder frames = new Recorder();
            EmbeddedChannel decoder = new EmbeddedChannel(FrameCodec.decoder(16), frames);
            try {
                ByteBuf in = Unpooled.buffer().writeInt(3).writeBytes("abc".getBytes(StandardCharsets.UTF_8))
                        .writeInt(0).writeInt(17).writeZero(17);
                decoder.writeInbound(in);

                assertEquals("abc", frames.next());
                assertEquals("", frames.next());
                ProtocolException tooLong = assertInstanceOf(ProtocolException.class, frames.next());
                assertTrue(tooLong.getMessage().contains("frame length 17 exceeds maxFrameLength 16"), tooLong.getMessage());
                assertNull(frames.poll());
                ByteBuf notice = decoder.readOutbound();
                try {
                    assertEquals(0x53435257, notice.getInt(0));
                    assertEquals(5, notice.getUnsignedByte(5), "PROTOCOL_ERROR");
                } finally {
                    notice.release();
                }
                assertFalse(decoder.isOpen(), "channel still open after a protocol error");
            } finally {
                decoder.finishAndReleaseAll();
            }
        }

        @Test
        void aDecoderWithMaximumZeroAcceptsEmptyFramesOnly() {
            Recorder frames = new Recorder();
            EmbeddedChannel decoder = new EmbeddedChannel(FrameCodec.decoder(0), frames);
            try {
                decoder.writeInbound(Unpooled.buffer().writeInt(0).writeInt(1).writeByte('x'));
                assertEquals("", frames.next());
                assertInstanceOf(ProtocolException.class, frames.next());
            } finally {
                decoder.finishAndReleaseAll();
            }
        }

        @Test
        void aMaximumOutsideTheConfigRangeIsRefusedWithTheValue() {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FrameCodec.decoder(-1));
            assertEquals("maxFrameLength must be between 0 and 2147483639, was: -1", e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> FrameCodec.listenerHello(self, TransportConfig.MAX_FRAME_LENGTH_LIMIT + 1, WAIT));
        }

        @ParameterizedTest(name = "seed {0}")
        @ValueSource(longs = {1, 2, 3, 42, 20_240_607})
        void encodedFramesSplitAtRandomPointsDecodeToIdenticalPayloads(long seed) {
            Random random = new Random(seed);
            List<byte[]> payloads = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                byte[] payload = new byte[random.nextInt(10) == 0 ? 0 : random.nextInt(600)];
                random.nextBytes(payload);
                payloads.add(payload);
            }
            EmbeddedChannel encoder = new EmbeddedChannel(FrameCodec.encoder());
            EmbeddedChannel decoder = new EmbeddedChannel(FrameCodec.decoder(600));
            ByteBuf stream = PooledByteBufAllocator.DEFAULT.buffer();
            try {
                for (byte[] payload : payloads) {
                    encoder.writeOutbound(Unpooled.wrappedBuffer(payload));
                }
                for (ByteBuf part; (part = encoder.readOutbound()) != null; part.release()) {
                    stream.writeBytes(part);
                }
                while (stream.isReadable()) {
                    // Pieces of 1 to 40 bytes: cuts land inside length fields as well as inside payloads.
                    decoder.writeInbound(stream.readRetainedSlice(Math.min(stream.readableBytes(), 1 + random.nextInt(40))));
                }
                for (int i = 0; i < payloads.size(); i++) {
                    ByteBuf frame = decoder.readInbound();
                    assertNotNull(frame, "frame " + i + " missing");
                    try {
                        // One bulk copy: PARANOID leak detection records every single-byte access (hexDump of
                        // the buffer itself made this test take seconds).
                        assertEquals(ByteBufUtil.hexDump(payloads.get(i)), ByteBufUtil.hexDump(ByteBufUtil.getBytes(frame)), "frame " + i);
                    } finally {
                        frame.release();
                    }
                }
                assertNull(decoder.readInbound(), "more frames than were encoded");
            } finally {
                stream.release();
                encoder.finishAndReleaseAll();
                decoder.finishAndReleaseAll();
            }
        }

        private ByteBuf notice(int code, byte[] detail) {
            return Unpooled.buffer().writeInt(0x53435257).writeByte(1).writeByte(code).writeShort(detail.length).writeBytes(detail);
        }

        private ByteBuf hex(String hex) {
            return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
        }

        private String readOutboundHex(EmbeddedChannel channel) {
            ByteBuf out = channel.readOutbound();
            assertNotNull(out, "nothing written");
            try {
                return ByteBufUtil.hexDump(out);
            } finally {
                out.release();
            }
        }
    }

    /** Rewrites the version byte of the first buffer written through it: a connector from the future. */
    static final class HelloVersionForger extends ChannelOutboundHandlerAdapter {
        private final int version;
        private boolean forged;

        HelloVersionForger(int version) {
            this.version = version;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (!forged && msg instanceof ByteBuf) {
                ByteBuf hello = (ByteBuf) msg;
                hello.setByte(hello.readerIndex() + 4, version);
                forged = true;
            }
            ctx.write(msg, promise);
        }
    }

    /**
     * Records what reaches the end of a pipeline: each frame as a UTF-8 string (released at once),
     * user events, and exceptions.
     */
    static final class Recorder extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Object> events;

        Recorder() {
            this(new LinkedBlockingQueue<>());
        }

        Recorder(BlockingQueue<Object> events) {
            this.events = events;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                events.add(msg instanceof ByteBuf ? ((ByteBuf) msg).toString(StandardCharsets.UTF_8) : msg);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            events.add(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            events.add(cause);
        }

        /** The next event, waiting up to {@link #WAIT} for it. */
        Object next() {
            try {
                Object event = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                assertNotNull(event, "nothing reached the recorder within " + WAIT);
                return event;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for an event", e);
            }
        }

        /** The next event if there is one now, else null. */
        Object poll() {
            return events.poll();
        }
    }

    /** The listener's first event names the transport and carries this process's credentials (native modes and LOCAL). */
    private static void assertHelloFrom(Transport transport, Object event) {
        FrameCodec.HelloReceived hello = assertInstanceOf(FrameCodec.HelloReceived.class, event);
        assertEquals(transport.address(), hello.sender());
        PeerCredentials self = PeerCredentials.ofThisProcess();
        if (hello.credentials().uid() >= 0) {
            assertEquals(self.uid(), hello.credentials().uid(), hello.credentials().toString());
        }
        if (hello.credentials().pid() >= 0) {
            assertEquals(self.pid(), hello.credentials().pid(), hello.credentials().toString());
        }
    }
}
