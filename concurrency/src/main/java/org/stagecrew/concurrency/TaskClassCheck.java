package org.stagecrew.concurrency;

import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;

/**
 * Checks in the starting JVM that a process unit's task class can be created in the child JVM,
 * which loads it by name and calls its public no-argument constructor from another package: every
 * cause that would otherwise fail only in the child, with a message that names the fix.
 */
final class TaskClassCheck {
    private TaskClassCheck() {
    }

    /** @throws IllegalArgumentException naming the class, the unit and what to change */
    static void check(Class<?> taskClass, String unit) {
        String what = "task class " + taskClass.getName() + " of process unit " + unit;
        if (taskClass.isSynthetic() || taskClass.isHidden() || taskClass.getName().contains("$$Lambda")) {
            throw new IllegalArgumentException(what + " is a lambda or a generated class, which a child JVM cannot load by name;"
                    + " write a public top-level class or a public static nested class that implements Task");
        }
        if (taskClass.isAnonymousClass() || taskClass.isLocalClass()) {
            throw new IllegalArgumentException(what + " is an " + (taskClass.isAnonymousClass() ? "anonymous" : "local")
                    + " class, which a child JVM cannot create; make it a public top-level class or a public static nested class");
        }
        if (taskClass.isMemberClass() && !Modifier.isStatic(taskClass.getModifiers())) {
            throw new IllegalArgumentException(what + " is an inner class, whose instances need an instance of "
                    + taskClass.getEnclosingClass().getName() + "; declare it static (public static class "
                    + taskClass.getSimpleName() + ")");
        }
        if (taskClass.isInterface() || Modifier.isAbstract(taskClass.getModifiers())) {
            throw new IllegalArgumentException(what + " is abstract; name a concrete class");
        }
        if (!Modifier.isPublic(taskClass.getModifiers())) {
            throw new IllegalArgumentException(what + " is not public, so the child JVM may not create it; declare it public"
                    + (taskClass.isMemberClass() ? " (public static class " + taskClass.getSimpleName() + ")" : ""));
        }
        Constructor<?> constructor;
        try {
            constructor = taskClass.getConstructor();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException(what + " needs a public no-argument constructor; add one (public "
                    + taskClass.getSimpleName() + "() { }) and pass what the task needs as arguments(...) or peers(...)", e);
        }
        if (!Modifier.isPublic(constructor.getDeclaringClass().getModifiers())) {
            throw new IllegalArgumentException(what + ": its constructor is not reachable from another package; declare it public");
        }
    }
}
