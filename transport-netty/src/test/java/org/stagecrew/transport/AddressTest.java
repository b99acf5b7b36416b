package org.stagecrew.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class AddressTest {

    @Test
    void aPathWithANulCharacterIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.of("/tmp/a\0b.sock"));

        assertTrue(e.getMessage().contains("NUL"), e::getMessage);
    }

    @Test
    void anEmptyPathIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.of(""));

        assertEquals("socket path must not be empty", e.getMessage());
    }

    @Test
    void aNullPathIsRefusedByName() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> Address.of((String) null));

        assertEquals("path", e.getMessage());
    }

    @Test
    void aPathOfExactlyTheLimitIsAccepted() {
        String path = "/" + "p".repeat(Address.MAX_PATH_BYTES - 1);

        assertEquals(path, Address.of(path).path());
    }

    @Test
    void aPathOneByteOverTheLimitIsRefusedWithItsLengthAndTheLimit() {
        String path = "/" + "p".repeat(Address.MAX_PATH_BYTES);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.of(path));

        assertTrue(e.getMessage().contains(path), e::getMessage);
        assertTrue(e.getMessage().contains((Address.MAX_PATH_BYTES + 1) + " bytes"), e::getMessage);
        assertTrue(e.getMessage().contains(String.valueOf(Address.MAX_PATH_BYTES)), e::getMessage);
    }

    @Test
    void theLimitCountsUtf8BytesNotCharacters() {
        String path = "/" + "é".repeat((Address.MAX_PATH_BYTES + 1) / 2); // 2 bytes each: over the limit

        assertTrue(path.length() < Address.MAX_PATH_BYTES, "few enough characters");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.of(path));

        int bytes = path.getBytes(StandardCharsets.UTF_8).length;
        assertTrue(e.getMessage().contains(bytes + " bytes"), e::getMessage);
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void onLinuxTheLimitIsSunPathMinusItsTerminatingNul() {
        assertEquals(107, Address.MAX_PATH_BYTES);
    }

    @Test
    void addressesAreEqualWhenTheirPathsAre() {
        Address a = Address.of(Path.of("/tmp", "x.sock"));

        assertEquals(Address.of("/tmp/x.sock"), a);
        assertEquals("/tmp/x.sock", a.toString());
        assertEquals(Path.of("/tmp/x.sock"), a.toPath());
    }

    @Nested
    class AbstractNames {

        @Test
        void anAbstractNameShowsAsAtNameAndIsNoFilePath() {
            Address a = Address.abstractName("x");

            assertTrue(a.isAbstract());
            assertFalse(Address.of("x").isAbstract());
            assertEquals("x", a.path());
            assertEquals("@x", a.toString());
        }

        @Test
        void equalityDistinguishesAnAbstractNameFromAFileOfTheSameName() {
            assertNotEquals(Address.abstractName("x"), Address.of("x"));
            assertNotEquals(Address.of("x"), Address.abstractName("x"));
            assertEquals(Address.abstractName("x"), Address.abstractName("x"));
            assertEquals(Address.abstractName("x").hashCode(), new Address("x", true).hashCode());
        }

        @Test
        void toPathOfAnAbstractNameThrowsUnsupportedOperationNamingIt() {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> Address.abstractName("x").toPath());

            assertEquals("abstract socket name @x has no file path", e.getMessage());
        }

        @Test
        void anAbstractNameOfExactlyTheLimitIsAccepted() {
            String name = "n".repeat(Address.MAX_PATH_BYTES);

            assertEquals(name, Address.abstractName(name).path());
        }

        @Test
        void anAbstractNameOneByteOverTheLimitIsRefusedWithItsLengthAndTheLimit() {
            String name = "n".repeat(Address.MAX_PATH_BYTES + 1);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.abstractName(name));

            assertTrue(e.getMessage().startsWith("abstract socket name @" + name + " is "), e::getMessage);
            assertTrue(e.getMessage().contains((Address.MAX_PATH_BYTES + 1) + " bytes long"), e::getMessage);
            assertTrue(e.getMessage().contains("more than the " + Address.MAX_PATH_BYTES + " bytes"), e::getMessage);
            assertTrue(e.getMessage().contains("with the leading NUL"), e::getMessage);
        }

        @Test
        void anEmptyAbstractNameIsRefused() {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.abstractName(""));

            assertEquals("abstract socket name must not be empty", e.getMessage());
        }

        @Test
        void aNulCharacterInAnAbstractNameIsRefused() {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Address.abstractName("a\0b"));

            assertEquals("abstract socket name must not contain a NUL character: a@b", e.getMessage());
        }
    }
}
