package cn.edl.wallet

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.security.SecureRandom
import java.util.Base64
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.Mac
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The authority that bindings/test.sh runs on loopback, reached through its admin API with
 * plain java.net.http (the JSON is read with small regexes: no JSON library is needed).
 */
object Authority {
    val url: String = System.getenv("EDL_AUTHORITY_URL") ?: error("EDL_AUTHORITY_URL not set (run bindings/test.sh)")
    private val token: String = System.getenv("EDL_ADMIN_TOKEN") ?: error("EDL_ADMIN_TOKEN not set")
    val identitySecret: ByteArray = (System.getenv("EDL_IDENTITY_SECRET") ?: "").toByteArray()
    val photo: ByteArray = File(System.getenv("EDL_PHOTO") ?: error("EDL_PHOTO not set")).readBytes()

    init {
        // As an app does at start-up: the library ships without the face model built in.
        loadFaceModel(File(System.getenv("EDL_FACE_MODEL") ?: error("EDL_FACE_MODEL not set")).readBytes())
    }
    private val http = HttpClient.newHttpClient()
    private val next = AtomicInteger(9000)

    /** A fresh licence number (the Python suite uses 5xxx on the same server). */
    fun number(): String = "11010119900307" + next.incrementAndGet().toString().padStart(4, '0')

    fun call(method: String, path: String, body: String? = null, admin: Boolean = true): String {
        val request = HttpRequest.newBuilder(URI.create(url + path))
            .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it) } ?: HttpRequest.BodyPublishers.noBody())
            .header("Content-Type", "application/json")
            .apply { if (admin) header("Authorization", "Bearer $token") }
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "$method $path: ${response.statusCode()} ${response.body()}" }
        return response.body()
    }

    private fun field(json: String, name: String): String =
        Regex("\"$name\"\\s*:\\s*\"?([^\",}]*)").find(json)?.groupValues?.get(1) ?: error("no $name in $json")

    /**
     * A new driver; with [photoOnFile] the office already holds an approved photo, so applying issues at once.
     * The licence is valid from [validFrom] (ISO date) to 2036-03-07.
     */
    fun createDriver(number: String, photoOnFile: Boolean = false, validFrom: String = "2018-03-07"): Long {
        val photoField = if (photoOnFile) ""","photo":"${Base64.getEncoder().encodeToString(photo)}"""" else ""
        return field(
            call(
                "POST", "/admin/drivers",
                """{"licence_number":"$number","name":"李四","sex":"female","nationality":"中国",
                   "date_of_birth":"1990-03-07","classes":"C1","first_issue":"2012-03-07",
                   "valid_from":"$validFrom","valid_until":"2036-03-07",
                   "address":"上海市黄浦区测试路2号","issuing_authority":"上海市公安局交通警察总队"$photoField}""",
            ),
            "driver_id",
        ).toLong()
    }

    /** A new verifier account of [verifierClass] (`enforcement`, `insurer`, `rental`, `employer`); returns its API key. */
    fun createVerifier(name: String, verifierClass: String): String =
        field(call("POST", "/admin/verifiers", """{"name":"$name","class":"$verifierClass"}"""), "api_key")

    fun activationCode(driver: Long): String = field(call("POST", "/admin/drivers/$driver/activation-code"), "code")

    fun approve(photoId: ULong) {
        call("POST", "/admin/reviews/$photoId/approve")
    }

    fun trustList(): ByteArray =
        Base64.getDecoder().decode(field(call("GET", "/v1/trust-list", admin = false), "trust_list"))
}

/** The app's key store, in Kotlin: AES-256-GCM under a key held by the test (a phone holds it in the Android Keystore). */
class AesGcmKeyStore(private val key: ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }) : KeyStore {
    val wraps = AtomicInteger()
    val unwraps = AtomicInteger()

    override fun wrapKey(plaintext: ByteArray): ByteArray {
        wraps.incrementAndGet()
        val nonce = ByteArray(12).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES"), GCMParameterSpec(128, nonce))
        val sealed = nonce + cipher.doFinal(plaintext)
        plaintext.fill(0)
        return sealed
    }

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        unwraps.incrementAndGet()
        if (wrapped.size < 12 + 16) throw EdlException.KeyStore(KeyStoreFailure.WRONG_KEY)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, SecretKeySpec(key, "AES"), GCMParameterSpec(128, wrapped, 0, 12))
        try {
            return cipher.doFinal(wrapped, 12, wrapped.size - 12)
        } catch (e: AEADBadTagException) {
            throw EdlException.KeyStore(KeyStoreFailure.WRONG_KEY)
        }
    }
}

/** The authority's test identity provider: HMAC-SHA256(secret, "EDL1/identity\0" ‖ challenge ‖ number). */
class HmacIdentityProvider(private val secret: ByteArray = Authority.identitySecret) : IdentityProvider {
    override fun attest(challenge: ByteArray, licenceNumber: String): ByteArray? {
        val mac = Mac.getInstance("HmacSHA256")
        mac.init(SecretKeySpec(secret, "HmacSHA256"))
        mac.update("EDL1/identity\u0000".toByteArray())
        mac.update(challenge)
        return mac.doFinal(licenceNumber.toByteArray())
    }
}

class RecordingProgress : UploadProgress {
    val stages = ConcurrentLinkedQueue<UploadStage>()
    override fun onStage(stage: UploadStage, fraction: Float) {
        stages.add(stage)
    }
}

class WalletTest {
    private fun tempDir(): String = Scratch.dir("wallet")

    /** Enrols a new driver's wallet, applies, submits the clean photo and has it approved. */
    private suspend fun issuedWallet(dir: String, keys: KeyStore): Pair<Wallet, String> {
        val number = Authority.number()
        val driver = Authority.createDriver(number)
        val wallet = Wallet(dir, keys)
        wallet.enrol(Authority.url, number, Authority.activationCode(driver))
        assertEquals(ApplicationPhase.AWAITING_PHOTO, wallet.apply(HmacIdentityProvider()).phase)
        val report = wallet.checkPhoto(Authority.photo)
        assertTrue(report.passes, "${report.problems}")
        val progress = RecordingProgress()
        val accepted = wallet.submitPhoto(Authority.photo, PhotoSource.ALBUM, progress)
        assertEquals(
            listOf(UploadStage.CHECKED, UploadStage.NORMALISED, UploadStage.UPLOADING, UploadStage.UPLOADED),
            progress.stages.toList(),
        )
        assertEquals(ApplicationPhase.UNDER_REVIEW, accepted.application.phase)
        val pending = assertNotNull(wallet.application()?.pendingReview)
        assertTrue(pending.deadlineUnix > pending.submittedAtUnix)
        Authority.approve(accepted.photoId)
        assertTrue(wallet.sync().elicenceChanged)
        return wallet to number
    }

    @Test
    fun `the driver flow ends in an offline presentation the Verifier accepts`() = runBlocking {
        val keys = AesGcmKeyStore()
        val dir = tempDir()
        val (wallet, number) = issuedWallet(dir, keys)
        wallet.use { w ->
            assertEquals(1, keys.wraps.get())
            assertEquals(ApplicationPhase.ISSUED, w.application()?.phase)
            val main = assertNotNull(w.mainPage())
            assertEquals(number, main.licenceNumber)
            assertEquals("李四", main.name)
            assertEquals(StatusColour.BLACK, w.statusColour())
            assertEquals("C1", w.supplementaryPage()?.classMeanings?.first()?.code)
            assertNotNull(w.lastSyncedUnix())
            assertNotNull(w.photo())
            assertEquals(ReviewOutcome.APPROVED, w.photoReviews().last().outcome)
            assertTrue(w.messages().any { it.kind == MessageKind.APPLICATION_SUCCEEDED })

            val presentation = w.present(PresentationForm.OFFLINE, Audience.ENFORCEMENT)
            assertEquals((presentation.qrWidth * presentation.qrWidth).toInt(), presentation.qrModules.size)
            assertTrue(presentation.secondsLeft in 1u..30u)
            Verifier(Authority.trustList(), Audience.ENFORCEMENT).use { verifier ->
                val verified = verifier.verifyOffline(presentation.payload, w.nowUnix())
                val view = assertIs<DisclosedView.Enforcement>(verified.disclosed).view
                assertEquals(number, view.main.licenceNumber)

                val tampered = presentation.payload.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
                assertFailsWith<EdlException.Rejected> { verifier.verifyOffline(tampered, w.nowUnix()) }
            }
            val code = w.dynamicCode(Audience.BUSINESS)
            assertTrue(code.manualCode.all { it.isDigit() })
            assertTrue(code.barcodeModules.any { it })
        }
        // Reopened with the same Kotlin key store: the data key is unwrapped, the pages are there.
        Wallet(dir, keys).use { again ->
            assertEquals(number, again.mainPage()?.licenceNumber)
            assertTrue(keys.unwraps.get() >= 1)
        }
        // Another key: the Kotlin key store's WRONG_KEY arrives as a typed exception.
        val e = assertFailsWith<EdlException.KeyStore> { Wallet(dir, AesGcmKeyStore()) }
        assertEquals(KeyStoreFailure.WRONG_KEY, e.reason)
    }

    @Test
    fun `a store from a newer library asks for an update and a short key blames the key store`() {
        // Neither is a damaged store, whose answer is to wipe the wallet (D131).
        val dir = tempDir()
        val keys = AesGcmKeyStore()
        Wallet(dir, keys).use { }
        val short = object : KeyStore {
            override fun wrapKey(plaintext: ByteArray): ByteArray = keys.wrapKey(plaintext)
            override fun unwrapKey(wrapped: ByteArray): ByteArray = keys.unwrapKey(wrapped).copyOf(31)
        }
        val e = assertFailsWith<EdlException.KeyStore> { Wallet(dir, short) }
        assertEquals(KeyStoreFailure.FAILED, e.reason)
        // The file as a newer library leaves it: SQLite's user_version (the schema's
        // version) is the 4 bytes at offset 60 of the database header, big-endian.
        java.io.RandomAccessFile(File(dir, "wallet.db"), "rw").use { f ->
            f.seek(60)
            f.writeInt(99)
        }
        assertFailsWith<EdlException.StoreTooNew> { Wallet(dir, keys) }
    }

    @Test
    fun `only the shipped face model loads`() {
        loadFaceModel(File(System.getenv("EDL_FACE_MODEL")).readBytes())
        val e = assertFailsWith<EdlException.InvalidArgument> { loadFaceModel(Authority.photo) }
        assertTrue("face model" in e.detail, e.detail)
    }

    @Test
    fun `many coroutines share one wallet`() = runBlocking {
        val (wallet, _) = issuedWallet(tempDir(), AesGcmKeyStore())
        wallet.use { w ->
            val results = (1..24).map { i ->
                async(Dispatchers.IO) {
                    when (i % 4) {
                        0 -> w.sync().let { "sync" }
                        1 -> w.present(PresentationForm.OFFLINE, Audience.BUSINESS).payload.size.toString()
                        2 -> w.mainPage()!!.name
                        else -> w.dynamicCode(Audience.ENFORCEMENT).manualCode
                    }
                }
            }.awaitAll()
            assertEquals(24, results.size)
            assertTrue(results.filterIndexed { i, _ -> (i + 1) % 4 == 2 }.all { it == "李四" })
        }
    }

    @Test
    fun `a wrong activation code is a typed refusal`() = runBlocking {
        val number = Authority.number()
        Authority.createDriver(number)
        Wallet(tempDir(), AesGcmKeyStore()).use { w ->
            val e = assertFailsWith<EdlException.Refused> { w.enrol(Authority.url, number, "000000") }
            assertEquals(RefusalReason.ACTIVATION_CODE_INVALID, e.reason)
            assertFalse(e.message.orEmpty().contains(number))
            assertFalse(w.isEnrolled())
        }
    }

    @Test
    fun `an unreachable authority is Offline and reads still work`() = runBlocking {
        Wallet(tempDir(), AesGcmKeyStore()).use { w ->
            assertFailsWith<EdlException.Offline> { w.enrol("http://127.0.0.1:9", Authority.number(), "123456") }
            assertFailsWith<EdlException.NotEnrolled> { w.sync() }
            assertFailsWith<EdlException.NoElicence> { w.present(PresentationForm.ONLINE, Audience.BUSINESS) }
            assertNull(w.mainPage())
        }
    }

    @Test
    fun `a photo with problems is reported with typed problems and hints`() = runBlocking {
        Wallet(tempDir(), softwareKeyStoreForTests()).use { w ->
            val dark = File(System.getenv("EDL_PHOTO")!!).resolveSibling("too_dark.jpg").readBytes()
            val report = w.checkPhoto(dark)
            assertFalse(report.passes)
            assertTrue(report.problems.any { it.kind == PhotoProblemKind.UNDEREXPOSED })
            assertTrue(report.problems.all { it.hint.zh.isNotEmpty() && it.hint.en.isNotEmpty() })
        }
    }

    @Test
    fun `the observer sees the review result and QR rotation ticks`() = runBlocking {
        val events = ConcurrentLinkedQueue<WalletEvent>()
        val observer = object : WalletObserver {
            override fun onEvent(event: WalletEvent) {
                events.add(event)
            }
        }
        val dir = tempDir()
        val keys = AesGcmKeyStore()
        val (wallet, _) = issuedWallet(dir, keys)
        wallet.use { w ->
            w.setObserver(observer)
            w.sync()
            w.startRotation(PresentationForm.ONLINE, Audience.BUSINESS).use { ticker ->
                val deadline = System.currentTimeMillis() + 5_000
                while (events.none { it is WalletEvent.Rotation } && System.currentTimeMillis() < deadline) {
                    Thread.sleep(20)
                }
                ticker.stop()
            }
            val tick = assertIs<WalletEvent.Rotation>(events.first { it is WalletEvent.Rotation })
            assertEquals(PresentationForm.ONLINE, tick.presentation.form)
            w.setObserver(null)
        }
        // A fresh wallet that observes from the start sees the application and the review.
        val number = Authority.number()
        val driver = Authority.createDriver(number)
        val seen = ConcurrentLinkedQueue<WalletEvent>()
        Wallet(tempDir(), AesGcmKeyStore()).use { w ->
            w.setObserver(object : WalletObserver {
                override fun onEvent(event: WalletEvent) {
                    seen.add(event)
                }
            })
            w.enrol(Authority.url, number, Authority.activationCode(driver))
            w.apply(HmacIdentityProvider())
            val accepted = w.submitPhoto(Authority.photo, PhotoSource.CAMERA, null)
            Authority.approve(accepted.photoId)
            w.sync()
        }
        assertTrue(seen.any { it is WalletEvent.ElicenceChanged })
        assertTrue(seen.any { it is WalletEvent.ReviewResult && it.review.outcome == ReviewOutcome.APPROVED })
        assertTrue(seen.any { it is WalletEvent.ApplicationChanged && it.application.phase == ApplicationPhase.ISSUED })
    }

    @Test
    fun `log records reach a Kotlin logger`() {
        val records = ConcurrentLinkedQueue<String>()
        setLogger(object : Logger {
            override fun log(level: LogLevel, target: String, message: String) {
                records.add("$level $target $message")
            }
        }, LogLevel.INFO)
        try {
            Wallet(tempDir(), softwareKeyStoreForTests()).use { }
        } finally {
            // The logger is called on the library's own thread; removing it returns once the
            // records made before have reached it (D141).
            setLogger(null, LogLevel.INFO)
        }
        assertTrue("INFO edl_ffi::wallet wallet opened" in records, "$records")
    }

    @Test
    fun `a whole flow's log has the core's records and no personal data`() = runBlocking {
        // Every record of enrolment, application, photo check and upload, sync, offline and
        // online verification, at the finest level.
        val records = ConcurrentLinkedQueue<Triple<LogLevel, String, String>>()
        val police = Authority.createVerifier("log test police", "enforcement")
        setLogger(object : Logger {
            override fun log(level: LogLevel, target: String, message: String) {
                records.add(Triple(level, target, message))
            }
        }, LogLevel.TRACE)
        val number = try {
            val (wallet, n) = issuedWallet(tempDir(), AesGcmKeyStore())
            wallet.use { w ->
                val offline = w.present(PresentationForm.OFFLINE, Audience.ENFORCEMENT)
                Verifier(Authority.trustList(), Audience.ENFORCEMENT).use { it.verifyOffline(offline.payload, w.nowUnix()) }
                val online = w.present(PresentationForm.ONLINE, Audience.ENFORCEMENT)
                OnlineVerifier(Authority.url, police).use { it.verifyQr(online.payload) }
            }
            n
        } finally {
            // Returns once every record made before has reached `records` (D141).
            setLogger(null, LogLevel.INFO)
        }
        val core = records.filter { it.second.startsWith("edl_core::") }.map { it.first to it.third }
        assertTrue(LogLevel.INFO to "apply: the authority answered the application phase=AwaitingPhoto" in core, "$core")
        assertTrue(core.any { it.second.startsWith("photo_upload{source=Album change=false}: ") }, "$core")
        assertTrue(core.any { it.second.startsWith("sync: sync stored") && "elicence_changed=true" in it.second }, "$core")
        assertTrue(LogLevel.INFO to "verify{mode=online}: verified by the authority" in core, "$core")
        assertTrue(core.any { it.second.startsWith("enrol: enrolled") }, "$core")
        val everything = records.joinToString("\n") { "${it.second} ${it.third}" }
        for (personal in listOf(number, "李四", "上海市黄浦区测试路2号", "测试路", police)) {
            assertFalse(personal in everything, personal)
        }
    }

    private fun softwareKeyStoreForTests(): KeyStore =
        keyFileKeyStore(File(tempDir(), "key").path)
}
