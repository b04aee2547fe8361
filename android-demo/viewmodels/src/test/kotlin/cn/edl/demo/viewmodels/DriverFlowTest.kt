package cn.edl.demo.viewmodels

import cn.edl.demo.DemoIdentity
import cn.edl.demo.desktop.Admin
import cn.edl.wallet.ApplicationPhase
import cn.edl.wallet.Audience
import cn.edl.wallet.CheckMethod
import cn.edl.wallet.CheckOutcome
import cn.edl.wallet.DisclosedView
import cn.edl.wallet.LiveView
import cn.edl.wallet.MessageKind
import cn.edl.wallet.NotEligibleReason
import cn.edl.wallet.OnlineVerifier
import cn.edl.wallet.PhotoProblemKind
import cn.edl.wallet.PhotoSource
import cn.edl.wallet.PresentationForm
import cn.edl.wallet.RefusalReason
import cn.edl.wallet.ReviewOutcome
import cn.edl.wallet.StatusColour
import cn.edl.wallet.UploadStage
import cn.edl.wallet.Verifier
import cn.edl.wallet.VerifierClass
import cn.edl.wallet.Wallet
import cn.edl.wallet.keyFileKeyStore
import cn.edl.wallet.loadFaceModel
import cn.edl.wallet.beijingDateTime
import cn.edl.wallet.beijingTime
import cn.edl.wallet.checkMethodText
import cn.edl.wallet.checkOutcomeText
import cn.edl.wallet.errorText
import cn.edl.wallet.notEligibleText
import cn.edl.wallet.pointsText
import cn.edl.wallet.refusalText
import cn.edl.wallet.reviewDeadlineText
import java.io.File
import java.nio.file.Files
import java.time.LocalDate
import java.time.ZoneId
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The authority bindings/test.sh runs on loopback, the fixtures, and a fresh wallet. */
object Fixture {
    val admin = Admin.fromEnvironment()
    val identity = DemoIdentity((System.getenv("EDL_IDENTITY_SECRET") ?: "").toByteArray())
    private val photos = File(System.getenv("EDL_PHOTO") ?: error("EDL_PHOTO not set")).parentFile
    val clean: ByteArray = photos.resolve("clean.jpg").readBytes()
    val dark: ByteArray = photos.resolve("too_dark.jpg").readBytes()
    private val next = AtomicInteger(7000)

    init {
        loadFaceModel(File(System.getenv("EDL_FACE_MODEL") ?: error("EDL_FACE_MODEL not set")).readBytes())
    }

    /** A fresh licence number (the Kotlin binding tests use 9xxx and Python 5xxx on the same server). */
    fun number(): String = "11010119900307" + next.incrementAndGet().toString().padStart(4, '0')

    /** Every wallet's directory is under this one, removed when the test JVM exits. */
    private val scratch: File = Files.createTempDirectory("edl-viewmodels").toFile().also { root ->
        Runtime.getRuntime().addShutdownHook(Thread { root.deleteRecursively() })
    }

    fun wallet(): Wallet {
        val dir = Files.createTempDirectory(scratch.toPath(), "wallet").toFile()
        return Wallet(dir.path, keyFileKeyStore(dir.resolve("key").path))
    }

    /** Waits (up to 5 s) for a condition the wallet's background rotation makes true. */
    fun eventually(what: String, condition: () -> Boolean) {
        val deadline = System.currentTimeMillis() + 5_000
        while (!condition()) {
            check(System.currentTimeMillis() < deadline) { "timed out waiting for $what" }
            Thread.sleep(20)
        }
    }
}

/**
 * A new driver taken through every screen by the view models alone, against the real
 * authority: what each screen would show is asserted at each step.
 */
class DriverFlowTest {
    private val admin = Fixture.admin

    @Test
    fun `a new driver goes from enrolment through the photo review to the pages, messages and log`() = runBlocking<Unit> {
        val number = Fixture.number()
        val driver = admin.createDriver(number)
        Fixture.wallet().use { wallet ->
            val session = WalletSession(wallet)
            assertEquals(Screen.ENROL, session.screen.value)

            // Enrol: a wrong code is a refusal the driver can act on; the right one moves on.
            val enrol = EnrolViewModel(session, admin.url)
            enrol.edit(licenceNumber = number, activationCode = "000000")
            assertFalse(enrol.enrol())
            assertEquals(refusalText(RefusalReason.ACTIVATION_CODE_INVALID), enrol.state.value.error)
            assertEquals(Screen.ENROL, session.screen.value)
            enrol.edit(activationCode = admin.activationCode(driver))
            assertTrue(enrol.enrol())
            assertNull(enrol.state.value.error)
            assertEquals(Screen.APPLY, session.screen.value)

            // Apply: a suspended licence is refused with the core's reason and words.
            val apply = ApplyViewModel(session, Fixture.identity)
            admin.setStatus(driver, "D")
            assertFalse(apply.apply())
            assertEquals(NotEligibleReason.SUSPENDED, apply.state.value.notEligible)
            assertEquals(notEligibleText(NotEligibleReason.SUSPENDED), apply.state.value.refusal)
            assertEquals(Screen.APPLY, session.screen.value)
            admin.setStatus(driver, "A")
            assertTrue(apply.apply())
            assertEquals(ApplicationPhase.AWAITING_PHOTO, apply.state.value.phase)
            assertEquals(Screen.PHOTO, session.screen.value)

            // Photo: a dark one shows the phone's findings and cannot be uploaded.
            val photo = PhotoViewModel(session)
            photo.pick(Fixture.dark, PhotoSource.ALBUM)
            val report = assertNotNull(photo.state.value.report)
            assertFalse(report.passes)
            assertTrue(report.problems.any { it.kind == PhotoProblemKind.UNDEREXPOSED })
            assertTrue(report.problems.all { it.hint.zh.isNotBlank() && it.hint.en.isNotBlank() })
            assertFalse(photo.state.value.canUpload)
            assertFalse(photo.upload())

            // A clean one passes, uploads with the core's stages, and waits for review with its deadline.
            photo.pick(Fixture.clean, PhotoSource.CAMERA)
            assertTrue(photo.state.value.canUpload)
            assertTrue(photo.state.value.report!!.leftToReviewer.isNotEmpty())
            assertTrue(photo.upload())
            val uploaded = photo.state.value
            assertEquals(UploadStage.UPLOADED, uploaded.stage)
            assertEquals(1f, uploaded.progress)
            assertEquals(ApplicationPhase.UNDER_REVIEW, uploaded.phase)
            val pending = assertNotNull(wallet.application()?.pendingReview)
            // The deadline sentence is the core's, naming Beijing time, not composed here.
            val due = assertNotNull(uploaded.deadline)
            assertEquals(reviewDeadlineText(pending.deadlineUnix), due)
            assertEquals("审核截止 ${beijingDateTime(pending.deadlineUnix)}（北京时间）", due.zh)
            assertEquals("Review due by ${beijingDateTime(pending.deadlineUnix)} (Beijing time)", due.en)
            assertEquals(Screen.PHOTO, session.screen.value)

            // The reviewer approves; pull to refresh brings the e-licence and the pages.
            admin.approve(pending.photoId)
            photo.refresh()
            assertEquals(ReviewOutcome.APPROVED, photo.state.value.lastReview?.outcome)
            assertEquals(Screen.MAIN, session.screen.value)

            // Main page: the licence, the status colour, the last sync, a live QR, its countdown and the codes.
            val main = MainPageViewModel(session)
            main.start()
            val shown = main.state.value
            assertEquals("李娜", shown.page?.name)
            assertEquals(number, shown.page?.licenceNumber)
            assertEquals(StatusColour.BLACK, shown.colour)
            assertNotNull(shown.photo)
            assertEquals(beijingTime(wallet.lastSyncedUnix()!!), shown.lastSynced)
            assertEquals(shown.page!!.validUntil, shown.validUntil?.zh, "a dated licence shows its last day")
            Fixture.eventually("the first QR") { main.state.value.presentation != null }
            main.tick()
            val live = main.state.value
            assertEquals(Audience.BUSINESS, live.presentation!!.audience)
            assertEquals(PresentationForm.ONLINE, live.presentation!!.form)
            assertTrue(live.secondsLeft in 0..30, "${live.secondsLeft}")
            assertTrue(Regex("""0:[0-3]\d""").matches(live.countdown), live.countdown)
            val code = assertNotNull(live.code)
            assertEquals(Audience.BUSINESS, code.audience)
            assertTrue(code.manualCode.all { it.isDigit() } && code.barcodeModules.any { it })

            // What the screen shows is what verifies: the QR for a car-rental firm, the manual code for the police.
            OnlineVerifier(admin.url, admin.createVerifier("神州租车", "rental")).use { rental ->
                val checked = rental.verifyQr(live.presentation!!.payload)
                assertTrue(checked.inForce)
                assertIs<LiveView.Business>(checked.view)
            }
            main.setAudience(Audience.ENFORCEMENT)
            assertEquals("执法核验", main.state.value.audienceText.zh)
            Fixture.eventually("the police QR") { main.state.value.presentation?.audience == Audience.ENFORCEMENT }
            assertEquals(Audience.ENFORCEMENT, main.state.value.code?.audience)
            OnlineVerifier(admin.url, admin.createVerifier("东城交警", "enforcement")).use { police ->
                val checked = police.verifyManual(number, main.state.value.code!!.manualCode)
                assertIs<LiveView.Enforcement>(checked.view)
            }
            // The offline form verifies with the trust list alone.
            main.setForm(PresentationForm.OFFLINE)
            Fixture.eventually("the offline QR") { main.state.value.presentation?.form == PresentationForm.OFFLINE }
            val trust = OnlineVerifier(admin.url, "unused").use { it.fetchTrustList() }
            Verifier(trust, Audience.ENFORCEMENT).use { v ->
                val view = v.verifyOffline(main.state.value.presentation!!.payload, wallet.nowUnix())
                assertIs<DisclosedView.Enforcement>(view.disclosed)
            }

            // A violation and a suspension reach the pages with a pull to refresh; the status turns red.
            val yesterday = LocalDate.now(ZoneId.of("Asia/Shanghai")).minusDays(1).toString()
            admin.violation(driver, yesterday, "北京市东城区示例路", "驾驶机动车违反道路交通信号灯通行", 3, 200)
            admin.setStatus(driver, "D")
            main.refresh()
            assertNull(main.state.value.error)
            assertEquals(StatusColour.RED, main.state.value.colour)
            assertEquals("D", main.state.value.page?.status?.letters)

            // Supplementary page: the points bar and the record.
            session.open(Screen.SUPPLEMENTARY)
            assertEquals(Screen.SUPPLEMENTARY, session.screen.value)
            val supplementary = SupplementaryViewModel(session)
            val page = assertNotNull(supplementary.state.value.page)
            assertEquals(3, page.cycle.points.toInt())
            assertEquals(3f / 12f, supplementary.state.value.pointsBar)
            assertFalse(page.cycle.reachedLimit)
            // The points sentence is the core's, from the cycle as synced.
            assertEquals(pointsText(page.cycle), supplementary.state.value.pointsLine)
            assertEquals("已记 3 分 / 12 分，剩余 9 分", supplementary.state.value.pointsLine?.zh)
            assertEquals("3 of 12 points recorded, 9 left", supplementary.state.value.pointsLine?.en)
            assertEquals(listOf(3), page.record.map { it.points.toInt() })
            assertEquals("北京市公安局公安交通管理局", page.issuingAuthority)

            // Messages and the verification log, newest first, with their labels.
            session.open(Screen.MESSAGES)
            val messages = MessagesViewModel(session)
            messages.refresh()
            val kinds = messages.state.value.messages.map { it.message.kind }
            assertTrue(MessageKind.APPLICATION_SUCCEEDED in kinds, "$kinds")
            val log = messages.state.value.verifications
            assertEquals(listOf("东城交警", "神州租车"), log.map { it.verifier })
            assertEquals(VerifierClass.RENTAL, log[1].entry.verifierClass)
            assertEquals(checkMethodText(CheckMethod.MANUAL), log[0].method)
            assertEquals(checkOutcomeText(CheckOutcome.VERIFIED), log[1].outcome)
            assertEquals(beijingDateTime(log[0].entry.atUnix), log[0].at)

            main.close()
            supplementary.close()
            messages.close()
            session.close()
        }
    }

    @Test
    fun `the pages cannot be opened before the e-licence is issued`() = runBlocking<Unit> {
        val number = Fixture.number()
        val driver = admin.createDriver(number)
        Fixture.wallet().use { wallet ->
            val session = WalletSession(wallet)
            session.open(Screen.MAIN)
            assertEquals(Screen.ENROL, session.screen.value)
            val enrol = EnrolViewModel(session, admin.url)
            enrol.edit(licenceNumber = number, activationCode = admin.activationCode(driver))
            assertTrue(enrol.enrol())
            session.open(Screen.MAIN)
            assertEquals(Screen.APPLY, session.screen.value)
            // Nothing to show yet: the main page is empty rather than failing.
            val main = MainPageViewModel(session)
            main.start()
            assertNull(main.state.value.page)
            assertNull(main.state.value.code)
            assertEquals(errorText(cn.edl.wallet.EdlException.NoElicence()), main.state.value.error)
            main.close()
            session.close()
        }
    }

    @Test
    fun `a driver whose licence has a photo on file is issued at once and lands on the main page`() = runBlocking<Unit> {
        val number = Fixture.number()
        val driver = admin.createDriver(number, photoOnFile = Fixture.clean)
        Fixture.wallet().use { wallet ->
            val session = WalletSession(wallet)
            val enrol = EnrolViewModel(session, admin.url)
            enrol.edit(licenceNumber = number, activationCode = admin.activationCode(driver))
            assertTrue(enrol.enrol())
            assertTrue(ApplyViewModel(session, Fixture.identity).apply())
            assertEquals(Screen.MAIN, session.screen.value)
            session.close()
        }
    }
}
