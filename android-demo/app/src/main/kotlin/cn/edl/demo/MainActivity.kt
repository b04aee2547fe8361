package cn.edl.demo

import android.graphics.Color
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.text.InputType
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.lifecycle.lifecycleScope
import cn.edl.wallet.ApplicationPhase
import cn.edl.wallet.Audience
import cn.edl.wallet.EdlException
import cn.edl.wallet.PresentationForm
import cn.edl.wallet.PhotoSource
import cn.edl.wallet.RotationTicker
import cn.edl.wallet.StatusColour
import cn.edl.wallet.Wallet
import cn.edl.wallet.WalletEvent
import cn.edl.wallet.WalletObserver
import cn.edl.wallet.loadFaceModel
import kotlinx.coroutines.launch

/**
 * One screen over the wallet. It asks the core for everything it shows and draws it as it
 * comes; the only decisions here are which views to show for the application's phase.
 */
class MainActivity : ComponentActivity() {
    private lateinit var wallet: Wallet
    private var ticker: RotationTicker? = null
    private val main = Handler(Looper.getMainLooper())

    private val column by lazy { LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; setPadding(32, 32, 32, 32) } }
    private val status by lazy { TextView(this) }
    private val qr by lazy { QrView(this) }
    private val countdown by lazy { TextView(this) }
    private val pickPhoto = registerForActivityResult(ActivityResultContracts.GetContent()) { uri ->
        uri ?: return@registerForActivityResult
        val bytes = contentResolver.openInputStream(uri)?.use { it.readBytes() } ?: return@registerForActivityResult
        submitPhoto(bytes)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The face model ships as an asset of the AAR; the library does not build it in.
        loadFaceModel(assets.open("edl/seeta_fd_frontal_v1.0.bin").use { it.readBytes() })
        wallet = Wallet(filesDir.resolve("edl").path, KeystoreKeyStore())
        wallet.setObserver(object : WalletObserver {
            // Called on a library thread: hand the event to the UI thread.
            override fun onEvent(event: WalletEvent) {
                main.post { onWalletEvent(event) }
            }
        })
        setContentView(ScrollView(this).apply { addView(column) })
        render()
    }

    override fun onDestroy() {
        ticker?.close()
        wallet.close()
        super.onDestroy()
    }

    private fun onWalletEvent(event: WalletEvent) {
        when (event) {
            is WalletEvent.Rotation -> {
                qr.show(event.presentation)
                countdown.text = "${event.presentation.secondsLeft} s"
            }
            else -> render()
        }
    }

    /** Draws the screen for where the application stands. */
    private fun render() {
        column.removeAllViews()
        column.addView(status)
        if (!wallet.isEnrolled()) return enrolForm()
        when (wallet.application()?.phase) {
            null, ApplicationPhase.NOT_APPLIED, ApplicationPhase.REAPPLY_NEEDED -> applyForm()
            ApplicationPhase.AWAITING_PHOTO -> button("Choose a photo") { pickPhoto.launch("image/*") }
            ApplicationPhase.UNDER_REVIEW -> {
                val due = wallet.application()?.pendingReview?.deadlineUnix
                text("Photo under review, answer due by unix time $due")
                button("Check for the answer") { sync() }
            }
            ApplicationPhase.ISSUED -> pages()
            ApplicationPhase.STOPPED -> text("The e-licence was stopped: please see the vehicle office.")
        }
    }

    private fun enrolForm() {
        val url = field("Authority URL", "http://10.0.2.2:8088")
        val number = field("Licence number", "")
        val code = field("Activation code", "", InputType.TYPE_CLASS_NUMBER)
        button("Enrol") {
            lifecycleScope.launch {
                attempt { wallet.enrol(url.text.toString(), number.text.toString(), code.text.toString()) }
                render()
            }
        }
    }

    private fun applyForm() {
        val secret = field("Identity secret (development authority)", "")
        button("Apply for the e-licence") {
            lifecycleScope.launch {
                attempt { wallet.apply(DemoIdentity(secret.text.toString().toByteArray())) }
                render()
            }
        }
    }

    private fun submitPhoto(bytes: ByteArray) {
        lifecycleScope.launch {
            // Async: the checks run on the library's threads, not the main one.
            val report = wallet.checkPhoto(bytes)
            if (!report.passes) {
                status.text = report.problems.joinToString("\n") { it.hint.zh + " / " + it.hint.en }
                return@launch
            }
            attempt { wallet.submitPhoto(bytes, PhotoSource.ALBUM, null) }
            render()
        }
    }

    private fun pages() {
        val page = wallet.mainPage() ?: return
        val licenceStatus = page.status
        text("${page.name}  ${page.sexLabelZh}  ${page.nationality}")
        text("证号 ${page.licenceNumber}")
        text("准驾车型 ${page.classes}   有效期 ${page.validFrom} – ${page.validUntil}")
        if (licenceStatus.colour != StatusColour.HIDDEN) {
            text("状态 ${licenceStatus.labelZh}").setTextColor(
                if (licenceStatus.colour == StatusColour.RED) Color.RED else Color.BLACK,
            )
        }
        column.addView(qr)
        column.addView(countdown)
        wallet.supplementaryPage()?.let { s ->
            text("记分 ${s.cycle.points} (${s.cycle.start} – ${s.cycle.end})")
            s.record.forEach { text("${it.date} ${it.place} ${it.act} ${it.points} 分") }
            text("${s.issuingAuthority}  ${s.address}")
        }
        text("Manual code ${wallet.dynamicCode(Audience.BUSINESS).manualCode}")
        button("Sync") { sync() }
        ticker?.close()
        ticker = wallet.startRotation(PresentationForm.ONLINE, Audience.BUSINESS)
    }

    private fun sync() {
        lifecycleScope.launch { attempt { wallet.sync() } }
    }

    /** Runs a wallet call; a refusal is shown as the core words it (its message has no personal data). */
    private suspend fun attempt(call: suspend () -> Unit) {
        try {
            call()
            status.text = ""
        } catch (e: EdlException.Offline) {
            status.text = "Offline: what is stored still works."
        } catch (e: EdlException.Busy) {
            status.text = "Busy: try again in ${e.retryAfterSecs} s."
        } catch (e: EdlException) {
            status.text = e.message
        }
    }

    private fun text(s: String) = TextView(this).apply { text = s }.also { column.addView(it) }

    private fun field(hint: String, value: String, type: Int = InputType.TYPE_CLASS_TEXT) =
        EditText(this).apply { this.hint = hint; setText(value); inputType = type }.also { column.addView(it) }

    private fun button(label: String, onClick: () -> Unit) =
        Button(this).apply { text = label; setOnClickListener { onClick() } }.also { column.addView(it) }
}
