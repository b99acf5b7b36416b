package org.stagecrew.testing;

import java.lang.reflect.AnnotatedElement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The JUnit Jupiter extension behind {@link StagecrewTest}: resolves {@link Stage} parameters,
 * closes (and so checks) each stage after its test, and attaches the units' log tails to a
 * failure.
 *
 * <p>A {@code Stage} parameter of a test method, or of its {@code @BeforeEach}/{@code @AfterEach}
 * methods, is the test's own stage, closed after the test's {@code @AfterEach} methods; a problem
 * it finds then fails the test. One of a {@code @BeforeAll} method or a constructor of a
 * per-class test instance is shared by the class and closed after it. The stage also lives in
 * JUnit's {@code Store}, which closes it should the callbacks not run.
 *
 * <p>Tests may run in parallel (JUnit's {@code junit.jupiter.execution.parallel.enabled}), and a
 * class-level stage may live beside per-test ones: closing a stage stops and checks only what that
 * stage started (see {@link Stage}).
 *
 * <p>When a test or lifecycle method throws, the tails of its stage's logs are added to the
 * exception as a suppressed {@link UnitLogs}, printed to standard error and published as a report
 * entry {@code stagecrew.logs}.
 */
public final class StageExtension implements ParameterResolver, AfterEachCallback, AfterAllCallback,
        TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(StageExtension.class);
    private static final ConcurrentMap<String, AtomicInteger> NAMES = new ConcurrentHashMap<>();

    /** Creates the extension; JUnit does, through {@link StagecrewTest} or {@code @ExtendWith}. */
    public StageExtension() {
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Stage.class;
    }

    @Override
    public Stage resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getStore(NAMESPACE).computeIfAbsent(key(context), k -> open(context), Stage.class);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        closeStageOf(context);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        closeStageOf(context);
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        throw attachLogs(context, throwable);
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        throw attachLogs(context, throwable);
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        throw attachLogs(context, throwable);
    }

    @Override
    public void handleAfterAllMethodExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        throw attachLogs(context, throwable);
    }

    private static void closeStageOf(ExtensionContext context) {
        Stage stage = context.getStore(NAMESPACE).remove(key(context), Stage.class);
        if (stage != null) {
            stage.close();
        }
    }

    private static Throwable attachLogs(ExtensionContext context, Throwable throwable) {
        for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
            Stage stage = c.get().getStore(NAMESPACE).get(key(c.get()), Stage.class);
            if (stage != null) {
                String tails = stage.logTails();
                if (!tails.isEmpty()) {
                    throwable.addSuppressed(new UnitLogs(stage.name(), tails));
                    System.err.println("[stagecrew] " + context.getDisplayName() + " failed (" + throwable
                            + "); logs of the units of stage " + stage.name() + ":\n" + tails);
                    context.publishReportEntry("stagecrew.logs", tails);
                }
                break;
            }
        }
        return throwable;
    }

    /** One key per context: a store also answers for its parents' keys, which must not be mistaken for ours. */
    private static String key(ExtensionContext context) {
        return "stage:" + context.getUniqueId();
    }

    private static Stage open(ExtensionContext context) {
        StagecrewTest settings = settings(context);
        String base = context.getTestClass().map(Class::getSimpleName).orElse("stage")
                + context.getTestMethod().map(m -> "." + m.getName()).orElse("");
        int n = NAMES.computeIfAbsent(base, b -> new AtomicInteger()).incrementAndGet();
        StageBuilder builder = Stage.builder(n == 1 ? base : base + "-" + n);
        if (settings != null) {
            builder.ioMode(settings.ioMode()).stopTimeout(Duration.ofMillis(settings.stopTimeoutMillis()));
        }
        return builder.open();
    }

    private static StagecrewTest settings(ExtensionContext context) {
        for (Optional<ExtensionContext> c = Optional.of(context); c.isPresent(); c = c.get().getParent()) {
            Optional<AnnotatedElement> element = c.get().getElement();
            if (element.isPresent()) {
                Optional<StagecrewTest> found = AnnotationSupport.findAnnotation(element.get(), StagecrewTest.class);
                if (found.isPresent()) {
                    return found.get();
                }
            }
        }
        return null;
    }
}
