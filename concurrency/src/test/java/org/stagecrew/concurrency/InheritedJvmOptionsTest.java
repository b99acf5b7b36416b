package org.stagecrew.concurrency;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which of the parent's JVM options a child may take over. */
class InheritedJvmOptionsTest {
    @Test
    void propertiesHeapModuleOptionsAndAgentsAreKept() {
        List<String> options = List.of("-Dx=1", "-Xmx1g", "-XX:+UseSerialGC", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-javaagent:/opt/agent.jar=x", "-ea", "--enable-native-access=ALL-UNNAMED");
        assertEquals(options, InheritedJvmOptions.filter(options));
    }

    @Test
    void aDebuggerOnAFixedPortIsNeverPassedOnButOneOnAnyPortIs() {
        assertEquals(List.of(), InheritedJvmOptions.filter(List.of(
                "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005",
                "-agentlib:jdwp=transport=dt_socket,server=y,address=5005", "-Xdebug",
                "-Xrunjdwp:transport=dt_socket,server=y,address=8000")));
        assertEquals(List.of("-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=localhost:0"),
                InheritedJvmOptions.filter(List.of("-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=localhost:0")));
    }

    @Test
    void optionsNamingAFileTheParentWritesAndTheClassPathAreLeftOut() {
        assertEquals(List.of("-Xlog:gc"), InheritedJvmOptions.filter(List.of("-Xlog:gc", "-Xlog:gc:file=gc.log", "-Xloggc:gc.log",
                "-XX:StartFlightRecording=filename=x.jfr", "-XX:SharedArchiveFile=a.jsa", "-XX:ArchiveClassesAtExit=a.jsa",
                "-Djava.class.path=/x", "-Dsun.java.command=Main", "-XX:Flags=.hotspotrc")));
    }
}
