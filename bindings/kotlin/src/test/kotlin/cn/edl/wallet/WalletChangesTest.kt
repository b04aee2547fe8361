package cn.edl.wallet

import java.io.File
import java.security.MessageDigest
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * What changes after the e-licence is issued, against the loopback authority: a photo change
 * (and the busy answer at peak hours), a suspension, the verification log, and app callbacks
 * that throw.
 */
class WalletChangesTest {
    private val mirrored: ByteArray =
        File(System.getenv("EDL_PHOTO")!!).resolveSibling("clean_mirrored.jpg").readBytes()

    private fun sha256Hex(bytes: ByteArray): String =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    private class Recorder : WalletObserver {
        val events = ConcurrentLinkedQueue<WalletEvent>()
        override fun onEvent(event: WalletEvent) {
            events.add(event)
        }
    }

    /** A wallet whose e-licence is issued at once (photo on file), and the driver's registry id. */
    private suspend fun issued(): Pair<Wallet, Long> {
        val number = Authority.number()
        val driver = Authority.createDriver(number, photoOnFile = true)
        val wallet = Wallet(Scratch.dir("changes"), AesGcmKeyStore())
        try {
            wallet.enrol(Authority.url, number, Authority.activationCode(driver))
            assertEquals(ApplicationPhase.ISSUED, wallet.apply(HmacIdentityProvider()).phase)
        } catch (e: Throwable) {
            wallet.close()
            throw e
        }
        return wallet to driver
    }

    @Test
    fun `a photo change is reviewed and arrives as a re-signed e-licence`() = runBlocking<Unit> {
        val (wallet, _) = issued()
        wallet.use { w ->
            val recorder = Recorder()
            w.setObserver(recorder)
            val before = w.mainPage()!!.photoDigestHex
            val accepted = w.changePhoto(mirrored, PhotoSource.CAMERA, null)
            // Until the review, the e-licence in hand keeps working.
            assertEquals(ApplicationPhase.ISSUED, accepted.application.phase)
            assertEquals(accepted.photoId, accepted.application.pendingReview?.photoId)
            w.present(PresentationForm.OFFLINE, Audience.BUSINESS)

            Authority.approve(accepted.photoId)
            assertTrue(w.sync().elicenceChanged)
            val after = w.mainPage()!!.photoDigestHex
            assertNotEquals(before, after)
            assertEquals(sha256Hex(w.photo()!!), after)
            assertTrue(w.messages().any { it.kind == MessageKind.PHOTO_CHANGED })
            assertTrue(recorder.events.any { it is WalletEvent.ElicenceChanged })
            assertNull(w.application()?.pendingReview)
            Verifier(Authority.trustList(), Audience.BUSINESS).use { v ->
                val qr = w.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload
                val view = assertIs<DisclosedView.Business>(v.verifyOffline(qr, w.nowUnix()).disclosed).view
                assertTrue(after.startsWith(view.photoDigestHex))
            }
        }
    }

    @Test
    fun `a photo change needs an issued e-licence and is told to wait at peak hours`() = runBlocking<Unit> {
        Wallet(Scratch.dir("fresh"), AesGcmKeyStore()).use { fresh ->
            assertFailsWith<EdlException.NoElicence> { fresh.changePhoto(mirrored, PhotoSource.ALBUM, null) }
        }
        val (wallet, _) = issued()
        wallet.use { w ->
            Authority.call("PUT", "/admin/settings/busy", """{"retry_after":600}""")
            try {
                val e = assertFailsWith<EdlException.Busy> { w.changePhoto(mirrored, PhotoSource.ALBUM, null) }
                assertEquals(600uL, e.retryAfterSecs)
            } finally {
                Authority.call("PUT", "/admin/settings/busy", """{"retry_after":null}""")
            }
            assertNull(w.application()?.pendingReview)
            assertNotNull(w.changePhoto(mirrored, PhotoSource.ALBUM, null).application.pendingReview)
        }
    }

    @Test
    fun `a suspension turns the status red and the observer hears it`() = runBlocking<Unit> {
        val (wallet, driver) = issued()
        wallet.use { w ->
            val recorder = Recorder()
            w.setObserver(recorder)
            Authority.call("PUT", "/admin/drivers/$driver/status", """{"status":"D"}""")
            assertTrue(w.sync().licenceChanged)
            assertEquals(StatusColour.RED, w.statusColour())
            val changed = recorder.events.filterIsInstance<WalletEvent.LicenceChanged>().last()
            assertEquals(StatusColour.RED, changed.colour)
            assertEquals("D", w.mainPage()!!.status.letters)
        }
    }

    @Test
    fun `a verifier's check reaches the driver's verification log`() = runBlocking<Unit> {
        val (wallet, _) = issued()
        wallet.use { w ->
            val recorder = Recorder()
            w.setObserver(recorder)
            OnlineVerifier(Authority.url, Authority.createVerifier("神州租车", "rental")).use { rental ->
                rental.verifyQr(w.present(PresentationForm.ONLINE, Audience.BUSINESS).payload)
            }
            assertTrue(w.sync().verifications >= 1u)
            val entry = w.verificationLog().last()
            assertEquals("神州租车", entry.verifier)
            assertEquals(VerifierClass.RENTAL, entry.verifierClass)
            assertEquals(CheckMethod.QR, entry.method)
            assertEquals(CheckOutcome.VERIFIED, entry.outcome)
            assertTrue(recorder.events.any { it is WalletEvent.NewVerifications })
        }
    }

    @Test
    fun `callbacks that throw never fail or undo the call`() = runBlocking<Unit> {
        val number = Authority.number()
        val driver = Authority.createDriver(number)
        val calls = AtomicInteger()
        val afterThrow = ConcurrentLinkedQueue<WalletEvent>()
        val logged = AtomicInteger()
        setLogger(object : Logger {
            override fun log(level: LogLevel, target: String, message: String) {
                logged.incrementAndGet()
                throw IllegalStateException("logger bug")
            }
        }, LogLevel.INFO)
        try {
            Wallet(Scratch.dir("throwing"), AesGcmKeyStore()).use { w ->
                w.setObserver(object : WalletObserver {
                    override fun onEvent(event: WalletEvent) {
                        if (calls.incrementAndGet() == 1) throw IllegalStateException("observer bug")
                        afterThrow.add(event)
                    }
                })
                w.enrol(Authority.url, number, Authority.activationCode(driver))
                // A face SDK that throws has not attested: a typed refusal, nothing else.
                val refused = assertFailsWith<EdlException.Refused> {
                    w.apply(object : IdentityProvider {
                        override fun attest(challenge: ByteArray, licenceNumber: String): ByteArray? =
                            throw IllegalStateException("face SDK crashed")
                    })
                }
                assertEquals(RefusalReason.IDENTITY_CHECK_FAILED, refused.reason)
                w.apply(HmacIdentityProvider())
                val throwingBar = object : UploadProgress {
                    override fun onStage(stage: UploadStage, fraction: Float) = throw IllegalStateException("bar bug")
                }
                val accepted = w.submitPhoto(Authority.photo, PhotoSource.ALBUM, throwingBar)
                Authority.approve(accepted.photoId)
                assertTrue(w.sync().elicenceChanged)
                assertEquals(ApplicationPhase.ISSUED, w.application()?.phase)
            }
        } finally {
            setLogger(null, LogLevel.INFO)
        }
        assertTrue(calls.get() > 1)
        assertTrue(afterThrow.any { it is WalletEvent.ElicenceChanged })
        assertTrue(logged.get() > 0)
    }
}
