package cn.edl.wallet

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The verifier's online check through the generated Kotlin, against the authority on loopback. */
class OnlineVerifierTest {
    /** A driver whose photo is on file, so applying issues the e-licence at once. */
    private suspend fun issuedWallet(): Pair<Wallet, String> {
        val number = Authority.number()
        val driver = Authority.createDriver(number, photoOnFile = true)
        val wallet = Wallet(Scratch.dir("online"), AesGcmKeyStore())
        wallet.enrol(Authority.url, number, Authority.activationCode(driver))
        assertEquals(ApplicationPhase.ISSUED, wallet.apply(HmacIdentityProvider()).phase)
        return wallet to number
    }

    @Test
    fun `the online QR, the barcode and the manual code verify with the verifier's view`() = runBlocking {
        val (wallet, number) = issuedWallet()
        wallet.use { w ->
            OnlineVerifier(Authority.url, Authority.createVerifier("平安保险", "insurer")).use { insurer ->
                val scanned = w.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
                // A verifier app routes what it scans by its form.
                assertEquals(PresentationForm.ONLINE, payloadForm(scanned))
                assertEquals(PresentationForm.OFFLINE, payloadForm(w.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload))
                assertFailsWith<EdlException.Malformed> { payloadForm(byteArrayOf(-1, 0)) }
                val answer = insurer.verifyQr(scanned)
                assertTrue(answer.inForce)
                assertNull(answer.notInForceReason)
                assertEquals(StatusColour.BLACK, answer.statusColour)
                assertEquals(20, answer.elicenceId.length)
                val qualification = assertIs<LiveView.Business>(answer.view).qualification
                assertEquals("李四", qualification.name)
                assertFalse(qualification.maskedNumber == number)
                assertEquals(listOf("C1"), qualification.classCodes)
                // The photo to compare with the driver's face is the one the digest names.
                val digest = java.security.MessageDigest.getInstance("SHA-256").digest(answer.photo)
                assertEquals(qualification.photoDigestHex, digest.joinToString("") { "%02x".format(it) })

                val code = w.dynamicCode(Audience.BUSINESS)
                assertEquals(answer.elicenceId, insurer.verifyBarcode(code.barcodeText).elicenceId)
                val spoken = code.manualCode.chunked(3).joinToString(" ")
                assertEquals(answer.elicenceId, insurer.verifyManual(number, spoken).elicenceId)

                // The trust list it fetches lets the offline Verifier check an offline QR.
                Verifier(insurer.fetchTrustList(), Audience.BUSINESS).use { offline ->
                    val verified = offline.verifyOffline(w.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload, w.nowUnix())
                    assertIs<DisclosedView.Business>(verified.disclosed)
                }
            }
            OnlineVerifier(Authority.url, Authority.createVerifier("交警支队", "enforcement")).use { police ->
                val answer = police.verifyQr(w.present(PresentationForm.ONLINE, Audience.ENFORCEMENT).payload)
                val view = assertIs<LiveView.Enforcement>(answer.view)
                assertEquals(number, view.main.licenceNumber)
                assertEquals("上海市黄浦区测试路2号", view.supplementary.address)
            }
        }
    }

    @Test
    fun `refusals arrive as typed Kotlin exceptions`() = runBlocking {
        val (wallet, number) = issuedWallet()
        wallet.use { w ->
            OnlineVerifier(Authority.url, Authority.createVerifier("安心租车", "rental")).use { rental ->
                val real = w.dynamicCode(Audience.BUSINESS).manualCode
                val wrong = (if (real[1] == '0') "1" else "0").let { real[0] + it + real.substring(2) }
                val rejected = assertFailsWith<EdlException.Rejected> { rental.verifyManual(number, wrong) }
                assertEquals(RejectionReason.WrongCode, rejected.reason)

                val offlineQr = w.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload
                assertEquals(InputKind.PAYLOAD, assertFailsWith<EdlException.Malformed> { rental.verifyQr(offlineQr) }.what)
                assertEquals(InputKind.TYPED_CODE, assertFailsWith<EdlException.Malformed> { rental.verifyBarcode("123") }.what)
            }
            val qr = w.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
            OnlineVerifier(Authority.url, "not-a-key").use { forged ->
                assertFailsWith<EdlException.Unauthorised> { forged.verifyQr(qr) }
            }
            OnlineVerifier("http://127.0.0.1:1", "any").use { unreachable ->
                assertFailsWith<EdlException.Offline> { unreachable.verifyQr(qr) }
            }
        }
        assertFailsWith<EdlException.InvalidArgument> { OnlineVerifier("ftp://authority", "key") }
        Unit
    }

    @Test
    fun `pinned authority roots must be certificates`() {
        // The TLS handshake itself is tested in Rust (authority/tests/tls.rs); here, the contract.
        val e = assertFailsWith<EdlException.InvalidArgument> { setAuthorityRoots(listOf("not a certificate".toByteArray())) }
        assertTrue("certificates" in e.detail, e.detail)
        setAuthorityRoots(null)
    }

    @Test
    fun `many coroutines check through one OnlineVerifier at once`() = runBlocking {
        val (wallet, _) = issuedWallet()
        wallet.use { w ->
            val payload = w.present(PresentationForm.ONLINE, Audience.BUSINESS).payload
            OnlineVerifier(Authority.url, Authority.createVerifier("用工单位", "employer")).use { employer ->
                val answers = (1..16).map {
                    async(Dispatchers.Default) { employer.verifyQr(payload) }
                }.awaitAll()
                assertTrue(answers.all { it.inForce })
                assertEquals(1, answers.map { it.elicenceId }.toSet().size)
            }
        }
    }
}
