package cn.edl.wallet

import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertTrue

/** The committed format vectors (core/tests/vectors/v1.txt): `name = value` lines. */
object Vectors {
    private val values: Map<String, String> by lazy {
        val path = System.getProperty("edl.vectors") ?: error("system property edl.vectors not set")
        File(path).readLines()
            .filter { " = " in it && !it.startsWith("#") }
            .associate { line -> line.substringBefore(" = ") to line.substringAfter(" = ") }
    }

    fun text(name: String): String = values[name] ?: error("vector $name missing")

    fun bytes(name: String): ByteArray =
        text(name).chunked(2).map { it.toInt(16).toByte() }.toByteArray()

    val now: ULong get() = text("now").toULong()
    val trustList: ByteArray get() = bytes("trust_list")
}

class VerifierTest {
    private fun verifier(audience: Audience) = Verifier(Vectors.trustList, audience)

    @Test
    fun `core version is reported`() {
        assertTrue(coreVersion().matches(Regex("""\d+\.\d+\.\d+.*""")))
    }

    @Test
    fun `committed business payload verifies with the qualification only`() {
        verifier(Audience.BUSINESS).use { v ->
            val verified = v.verifyOffline(Vectors.bytes("offline_business"), Vectors.now)
            assertEquals(Audience.BUSINESS, verified.audience)
            assertTrue(verified.windowStartUnix <= Vectors.now && Vectors.now < verified.windowEndUnix)
            val view = assertIs<DisclosedView.Business>(verified.disclosed).view
            assertEquals("张伟", view.name)
            assertEquals("1101**********1234", view.maskedNumber)
            assertEquals("C1", view.classes)
            assertEquals(listOf("C1"), view.classCodes)
            assertTrue(view.photoDigestHex.matches(Regex("[0-9a-f]{32}")))
            assertTrue(view.validFrom.matches(Regex("""\d{4}-\d{2}-\d{2}""")))
            assertTrue(view.validFrom < view.validUntil)
            assertEquals("A", view.status.letters)
            assertEquals(StatusColour.BLACK, view.status.colour)
            assertEquals("正常", view.status.labelZh)
            assertEquals("Normal", view.status.labelEn)
            assertTrue(view.status.mayDrive)
            assertTrue(view.issuedAtUnix < Vectors.now && Vectors.now < view.expiresAtUnix)
        }
    }

    @Test
    fun `committed enforcement payload verifies with both pages`() {
        verifier(Audience.ENFORCEMENT).use { v ->
            val verified = v.verifyOffline(Vectors.bytes("offline_enforcement"), Vectors.now)
            val view = assertIs<DisclosedView.Enforcement>(verified.disclosed).view
            assertEquals(20, view.elicenceId.length)
            with(view.main) {
                assertEquals("110101199003071234", licenceNumber)
                assertEquals("张伟", name)
                assertEquals(Sex.MALE, sex)
                assertEquals("男", sexLabelZh)
                assertEquals("C1", classes)
                assertEquals("A", status.letters)
                assertTrue(photoDigestHex.matches(Regex("[0-9a-f]{64}")))
                assertTrue(photoDigestHex.startsWith("6ad094cf"))
                assertEquals(view.issuedAtUnix, generatedAtUnix)
            }
            with(view.supplementary) {
                assertTrue(address.isNotEmpty())
                assertTrue(issuingAuthority.isNotEmpty())
                assertEquals(2, record.size)
                assertEquals(record.sumOf { it.points.toInt() }, cycle.points.toInt())
                assertEquals(12, cycle.limit.toInt())
                assertEquals(cycle.limit - cycle.points, cycle.remaining.toUInt())
                assertFalse(cycle.reachedLimit)
                assertEquals(listOf(ClassMeaning("C1", "小型汽车", "Small car")), classMeanings)
            }
        }
    }

    @Test
    fun `text form verifies like the bytes`() {
        val bytes = Vectors.bytes("offline_business")
        val text = payloadToText(bytes)
        assertTrue(text.startsWith("EDL:"))
        assertContentEquals(bytes, payloadFromText(text))
        verifier(Audience.BUSINESS).use { v ->
            assertEquals(v.verifyOffline(bytes, Vectors.now), v.verifyOfflineText(" $text\n", Vectors.now))
        }
    }

    @Test
    fun `tampered view is rejected with a bad issuer signature`() {
        val payload = Vectors.bytes("offline_business")
        payload[50] = (payload[50].toInt() xor 0x01).toByte()
        verifier(Audience.BUSINESS).use { v ->
            val e = assertFailsWith<EdlException.Rejected> { v.verifyOffline(payload, Vectors.now) }
            assertEquals(RejectionReason.BadIssuerSignature, e.reason)
        }
    }

    @Test
    fun `tampered device signature is rejected`() {
        val payload = Vectors.bytes("offline_enforcement")
        payload[payload.size - 1] = (payload[payload.size - 1].toInt() xor 0x80).toByte()
        verifier(Audience.ENFORCEMENT).use { v ->
            val e = assertFailsWith<EdlException.Rejected> { v.verifyOffline(payload, Vectors.now) }
            assertEquals(RejectionReason.BadDeviceSignature, e.reason)
        }
    }

    @Test
    fun `a business verifier refuses the enforcement view`() {
        verifier(Audience.BUSINESS).use { v ->
            val e = assertFailsWith<EdlException.Rejected> {
                v.verifyOffline(Vectors.bytes("offline_enforcement"), Vectors.now)
            }
            assertEquals(RejectionReason.WrongAudience(Audience.ENFORCEMENT, Audience.BUSINESS), e.reason)
            // Errors are safe to log: no personal data in the message.
            assertFalse(e.message.orEmpty().contains("张伟"))
        }
    }

    @Test
    fun `a replayed payload is rejected once its window has passed`() {
        verifier(Audience.BUSINESS).use { v ->
            val e = assertFailsWith<EdlException.Rejected> {
                v.verifyOffline(Vectors.bytes("offline_business"), Vectors.now + 120u)
            }
            assertEquals(RejectionReason.WindowExpired, e.reason)
        }
    }

    @Test
    fun `malformed input surfaces as typed Malformed errors`() {
        verifier(Audience.BUSINESS).use { v ->
            val text = assertFailsWith<EdlException.Malformed> { v.verifyOfflineText("not a payload", Vectors.now) }
            assertEquals(InputKind.PAYLOAD_TEXT, text.what)
            val bytes = assertFailsWith<EdlException.Malformed> {
                v.verifyOffline(Vectors.bytes("online_business"), Vectors.now)
            }
            assertEquals(InputKind.PAYLOAD, bytes.what)
        }
        val trust = assertFailsWith<EdlException.Malformed> { Verifier(byteArrayOf(1, 2, 3), Audience.BUSINESS) }
        assertEquals(InputKind.TRUST_LIST, trust.what)
    }

    @Test
    fun `a rendered QR scans back to the payload`() {
        val payload = Vectors.bytes("offline_business")
        val scanned = scanPng(renderQrPng(payload, 4u))
        assertEquals(1, scanned.size)
        assertContentEquals(payload, scanned[0])
        val e = assertFailsWith<EdlException.Malformed> { scanPng(byteArrayOf(0x89.toByte(), 0x50)) }
        assertEquals(InputKind.IMAGE, e.what)
    }

    @Test
    fun `not-eligible reasons come with the driver's text`() {
        val text = notEligibleText(NotEligibleReason.SUSPENDED)
        assertTrue(text.zh.contains("暂扣"))
        assertTrue(text.en.contains("suspended"))
    }

    @Test
    fun `the core hands over the display texts`() {
        // An exception made here travels back into the library to be worded.
        val busy = errorText(EdlException.Busy(30uL))
        assertEquals(LocalizedText("服务繁忙，请 30 秒后再试", "Busy: try again in 30 s"), busy)
        assertEquals("企业核验", audienceText(Audience.BUSINESS).zh)
        assertEquals("18:00:05", beijingTime(1_796_464_805uL))
        assertEquals("Long-term", validityEndText("9999-12-31").en)
        assertEquals(1f, pointsFraction(15u.toUByte(), 12u.toUByte()))
    }

    @Test
    fun `one verifier serves many coroutines at once`() = runBlocking {
        val business = Vectors.bytes("offline_business")
        val enforcement = Vectors.bytes("offline_enforcement")
        Verifier.withSkew(Vectors.trustList, Audience.BUSINESS, 5u).use { v ->
            val results = (1..64).map { i ->
                async(Dispatchers.Default) {
                    if (i % 2 == 0) {
                        v.verifyOffline(business, Vectors.now).audience
                    } else {
                        assertFailsWith<EdlException.Rejected> { v.verifyOffline(enforcement, Vectors.now) }
                        null
                    }
                }
            }.awaitAll()
            assertEquals(32, results.count { it == Audience.BUSINESS })
        }
    }
}
