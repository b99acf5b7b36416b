package org.stagecrew.concurrency;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import org.stagecrew.transport.Address;
import org.stagecrew.transport.Delivery;
import org.stagecrew.transport.IoMode;
import org.stagecrew.transport.TransportConfig;

/**
 * What a child JVM needs to run a process unit, carried as one command-line argument (Base64 of a
 * properties text) so that names and arguments with spaces or quotes survive unchanged.
 */
final class UnitSpec {
    final String taskClass;
    final String name;
    final boolean daemon;
    final Address parent;
    final List<Address> peers;
    final List<String> arguments;
    final Address handshake;
    final long parentPid;
    final TransportConfig transportConfig;

    UnitSpec(String taskClass, String name, boolean daemon, Address parent, List<Address> peers, List<String> arguments,
            Address handshake, long parentPid, TransportConfig transportConfig) {
        this.taskClass = taskClass;
        this.name = name;
        this.daemon = daemon;
        this.parent = parent;
        this.peers = List.copyOf(peers);
        this.arguments = List.copyOf(arguments);
        this.handshake = handshake;
        this.parentPid = parentPid;
        this.transportConfig = transportConfig;
    }

    String encode() {
        Properties p = new Properties();
        p.setProperty("task", taskClass);
        p.setProperty("name", name);
        p.setProperty("daemon", Boolean.toString(daemon));
        if (parent != null) {
            p.setProperty("parent", encode(parent));
        }
        putList(p, "peer", peers.stream().map(UnitSpec::encode).toList());
        putList(p, "arg", arguments);
        p.setProperty("handshake", encode(handshake));
        p.setProperty("parentPid", Long.toString(parentPid));
        TransportConfig c = transportConfig;
        p.setProperty("socketDirectory", c.socketDirectory().toString());
        if (c.fileName() != null) {
            p.setProperty("fileName", c.fileName());
        }
        p.setProperty("fileNamePrefix", c.fileNamePrefix());
        p.setProperty("ioMode", c.ioMode().name());
        p.setProperty("maxFrameLength", Integer.toString(c.maxFrameLength()));
        p.setProperty("writeBufferLowWaterMark", Integer.toString(c.writeBufferLowWaterMark()));
        p.setProperty("writeBufferHighWaterMark", Integer.toString(c.writeBufferHighWaterMark()));
        p.setProperty("inboxCapacityFrames", Integer.toString(c.inboxCapacityFrames()));
        p.setProperty("inboxCapacityBytes", Long.toString(c.inboxCapacityBytes()));
        p.setProperty("abstractNamespace", Boolean.toString(c.usesAbstractNamespace()));
        p.setProperty("connectTimeout", c.connectTimeout().toString());
        p.setProperty("helloTimeout", c.helloTimeout().toString());
        p.setProperty("ioThreads", Integer.toString(c.ioThreads()));
        p.setProperty("maxConnections", Integer.toString(c.maxConnections()));
        if (c.delivery().isAcknowledged()) {
            p.setProperty("redeliveryWindow", c.delivery().redeliveryWindow().toString());
        }
        StringWriter text = new StringWriter();
        try {
            p.store(text, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(text.toString().getBytes(StandardCharsets.UTF_8));
    }

    static UnitSpec decode(String encoded) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TransportConfig config = TransportConfig.builder()
                .socketDirectory(Path.of(p.getProperty("socketDirectory")))
                .fileName(p.getProperty("fileName"))
                .fileNamePrefix(p.getProperty("fileNamePrefix"))
                .ioMode(IoMode.valueOf(p.getProperty("ioMode")))
                .maxFrameLength(Integer.parseInt(p.getProperty("maxFrameLength")))
                .writeBufferWaterMark(Integer.parseInt(p.getProperty("writeBufferLowWaterMark")),
                        Integer.parseInt(p.getProperty("writeBufferHighWaterMark")))
                .inboxCapacity(Integer.parseInt(p.getProperty("inboxCapacityFrames")),
                        Long.parseLong(p.getProperty("inboxCapacityBytes")))
                .useAbstractNamespace(Boolean.parseBoolean(p.getProperty("abstractNamespace")))
                .connectTimeout(Duration.parse(p.getProperty("connectTimeout")))
                .helloTimeout(Duration.parse(p.getProperty("helloTimeout")))
                .ioThreads(Integer.parseInt(p.getProperty("ioThreads")))
                .maxConnections(Integer.parseInt(p.getProperty("maxConnections")))
                .delivery(p.getProperty("redeliveryWindow") == null ? Delivery.written()
                        : Delivery.acknowledged(Duration.parse(p.getProperty("redeliveryWindow"))))
                .build();
        String parent = p.getProperty("parent");
        return new UnitSpec(p.getProperty("task"), p.getProperty("name"), Boolean.parseBoolean(p.getProperty("daemon")),
                parent == null ? null : decodeAddress(parent),
                getList(p, "peer").stream().map(UnitSpec::decodeAddress).toList(), getList(p, "arg"),
                decodeAddress(p.getProperty("handshake")), Long.parseLong(p.getProperty("parentPid")), config);
    }

    static String encode(Address address) {
        return (address.isAbstract() ? "a:" : "f:") + address.path();
    }

    static Address decodeAddress(String text) {
        return text.startsWith("a:") ? Address.abstractName(text.substring(2)) : Address.of(text.substring(2));
    }

    private static void putList(Properties p, String key, List<String> values) {
        p.setProperty(key + ".count", Integer.toString(values.size()));
        for (int i = 0; i < values.size(); i++) {
            p.setProperty(key + "." + i, values.get(i));
        }
    }

    private static List<String> getList(Properties p, String key) {
        int count = Integer.parseInt(p.getProperty(key + ".count", "0"));
        List<String> values = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            values.add(p.getProperty(key + "." + i));
        }
        return values;
    }
}
