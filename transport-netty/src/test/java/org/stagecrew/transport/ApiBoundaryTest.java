package org.stagecrew.transport;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static java.util.stream.Collectors.toList;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.stagecrew.transport.spi.TransportProvider;

/**
 * Issue 13 item 3: the API ({@code org.stagecrew.transport} and its {@code spi}) names no
 * implementation class and finds it through {@link java.util.ServiceLoader}; the implementation
 * keeps its classes package-private but for the documented public ones; the scheduler hooks that
 * only a worker pool needs live in {@link FrameSignals}, not in {@link Transport}.
 */
class ApiBoundaryTest {
    /** The implementation's public types, each documented in the README or required by ServiceLoader. */
    static final String PUBLIC_NETTY_TYPES =
            "org\\.stagecrew\\.transport\\.netty\\.(DomainSockets|FrameCodec|NettyTransports|NettyTransportProvider)";

    /** The module's main classes (target/classes), not the test classes nor the jars. */
    static final JavaClasses MAIN_CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importUrl(Transport.class.getProtectionDomain().getCodeSource().getLocation());

    @Test
    void theApiPackagesDoNotDependOnTheNettyImplementation() {
        noClasses().that().resideInAnyPackage("org.stagecrew.transport", "org.stagecrew.transport.spi")
                .should().dependOnClassesThat().resideInAPackage("org.stagecrew.transport.netty..")
                .because("the API finds its implementation through ServiceLoader (TransportProvider)")
                .check(MAIN_CLASSES);
    }

    @Test
    void implementationClassesArePackagePrivateButTheDocumentedOnes() {
        classes().that().resideInAPackage("org.stagecrew.transport.netty").and().arePublic()
                .and().areTopLevelClasses()
                .should().haveNameMatching(PUBLIC_NETTY_TYPES)
                .because("the README documents these as the implementation's public types (and ServiceLoader needs the provider public)")
                .check(MAIN_CLASSES);
    }

    @Test
    void schedulerHooksLiveInFrameSignalsNotInTransport() {
        List<String> hooks = List.of("onFramesAvailable", "removeFramesAvailableListener", "hasFrames");
        List<String> onTransport = Arrays.stream(Transport.class.getMethods()).map(Method::getName).filter(hooks::contains).collect(toList());
        List<String> onSignals = Arrays.stream(FrameSignals.class.getMethods()).map(Method::getName).filter(hooks::contains).collect(toList());

        assertEquals(List.of(), onTransport, "Transport declares no scheduler hook");
        assertEquals(hooks.size(), onSignals.size(), "FrameSignals declares all three: " + onSignals);
    }

    @Test
    void theNettyProviderIsFoundThroughServiceLoader() {
        TransportProvider provider = TransportProviders.provider();

        assertEquals("org.stagecrew.transport.netty.NettyTransportProvider", provider.getClass().getName());
        assertSame(provider, TransportProviders.provider(), "found once");
        assertTrue(IoMode.NIO.isAvailable(), "IoMode asks the provider");
    }

    @Test
    void withoutAProviderOnTheClassPathOpenFailsSayingWhichDependencyToAdd() throws Exception {
        try (URLClassLoader empty = new URLClassLoader(new URL[0], null)) {
            NoTransportProviderException e = assertThrows(NoTransportProviderException.class,
                    () -> TransportProviders.find(empty));

            assertTrue(e.getMessage().contains("META-INF/services/org.stagecrew.transport.spi.TransportProvider"), e.getMessage());
            assertTrue(e.getMessage().contains("org.stagecrew:stagecrew-transport-netty"), e.getMessage());
            assertTrue(e instanceof TransportException);
        }
    }
}
