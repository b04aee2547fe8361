package cn.edl.demo

import android.graphics.BitmapFactory
import android.graphics.Color
import android.net.Uri
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.widget.Button
import android.widget.EditText
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ProgressBar
import android.widget.TextView
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.lifecycle.lifecycleScope
import androidx.swiperefreshlayout.widget.SwipeRefreshLayout
import cn.edl.demo.viewmodels.ApplyViewModel
import cn.edl.demo.viewmodels.EnrolViewModel
import cn.edl.demo.viewmodels.MainPageViewModel
import cn.edl.demo.viewmodels.MessagesViewModel
import cn.edl.demo.viewmodels.PhotoViewModel
import cn.edl.demo.viewmodels.Screen
import cn.edl.demo.viewmodels.SupplementaryViewModel
import cn.edl.demo.viewmodels.WalletOpening
import cn.edl.demo.viewmodels.WalletSession
import cn.edl.demo.viewmodels.openWallet
import cn.edl.wallet.Audience
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.PhotoSource
import cn.edl.wallet.PresentationForm
import cn.edl.wallet.StatusColour
import cn.edl.wallet.Wallet
import cn.edl.wallet.audienceText
import cn.edl.wallet.loadFaceModel
import cn.edl.wallet.reviewOutcomeText
import kotlinx.coroutines.flow.merge
import kotlinx.coroutines.launch

/**
 * The driver's app: one activity that draws the current screen from its view model
 * (android-demo/viewmodels, plain Kotlin, tested on the JVM) and forwards taps to it. No
 * rule is decided here; the screens are those of the desktop window in the screenshots.
 */
class MainActivity : ComponentActivity() {
    private lateinit var session: WalletSession
    private lateinit var enrol: EnrolViewModel
    private lateinit var apply: ApplyViewModel
    private lateinit var photo: PhotoViewModel
    private lateinit var main: MainPageViewModel
    private lateinit var supplementary: SupplementaryViewModel
    private lateinit var messages: MessagesViewModel
    private var shown: Screen? = null
    private val ui = Handler(Looper.getMainLooper())
    private val column by lazy { LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; setPadding(32, 32, 32, 32) } }
    private val refresher by lazy { SwipeRefreshLayout(this) }
    private var pickSource = PhotoSource.ALBUM
    private val pickPhoto = registerForActivityResult(ActivityResultContracts.GetContent()) { uri: Uri? ->
        val bytes = uri?.let { contentResolver.openInputStream(it)?.use { s -> s.readBytes() } } ?: return@registerForActivityResult
        launch { photo.pick(bytes, pickSource) }
    }
    private val second = object : Runnable {
        override fun run() {
            if (session.screen.value in WalletSession.TABS) main.tick()
            ui.postDelayed(this, 1000)
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The face model ships as an asset of the AAR; the library does not build it in.
        loadFaceModel(assets.open("edl/seeta_fd_frontal_v1.0.bin").use { it.readBytes() })
        // A store that cannot be opened (a locked phone, a full disk, a key the platform
        // lost) is a screen that says what to do, not a crash (AL-F4).
        when (val opening = openWallet { Wallet(filesDir.resolve("edl").path, KeystoreKeyStore()) }) {
            is WalletOpening.Failed -> return showCannotOpen(opening.text)
            is WalletOpening.Opened -> session = opening.session
        }
        enrol = EnrolViewModel(session, "http://10.0.2.2:8088")
        // DemoIdentity stands in for the face-verification SDK (see the README).
        apply = ApplyViewModel(session, DemoIdentity(BuildConfig.IDENTITY_SECRET.toByteArray()))
        photo = PhotoViewModel(session)
        main = MainPageViewModel(session)
        supplementary = SupplementaryViewModel(session)
        messages = MessagesViewModel(session)
        refresher.addView(android.widget.ScrollView(this).apply { addView(column) })
        refresher.setOnRefreshListener { launch { refreshCurrent() } }
        setContentView(refresher)
        lifecycleScope.launch {
            merge(session.screen, enrol.state, apply.state, photo.state, main.state, supplementary.state, messages.state)
                .collect { render() }
        }
        ui.post(second)
    }

    /** The wallet did not open: what the core says to do, and a way to try again. */
    private fun showCannotOpen(why: LocalizedText) {
        column.addView(TextView(this).apply { text = why.zh })
        column.addView(Button(this).apply { text = "重试"; setOnClickListener { recreate() } })
        setContentView(column)
    }

    override fun onDestroy() {
        if (!::session.isInitialized) return super.onDestroy()
        ui.removeCallbacks(second)
        main.close()
        supplementary.close()
        messages.close()
        session.close()
        session.wallet.close()
        super.onDestroy()
    }

    private fun launch(block: suspend () -> Unit) {
        lifecycleScope.launch { block() }
    }

    private suspend fun refreshCurrent() {
        when (session.screen.value) {
            Screen.PHOTO -> photo.refresh()
            Screen.MAIN -> main.refresh()
            Screen.SUPPLEMENTARY -> supplementary.refresh()
            Screen.MESSAGES -> messages.refresh()
            else -> Unit
        }
        refresher.isRefreshing = false
    }

    /** Draws the current screen from its view model's state. */
    private fun render() {
        val screen = session.screen.value
        if (screen != shown) {
            shown = screen
            when (screen) {
                Screen.APPLY -> apply.reload()
                Screen.PHOTO -> photo.reload()
                Screen.MAIN, Screen.SUPPLEMENTARY, Screen.MESSAGES -> {
                    main.start()
                    supplementary.reload()
                    messages.reload()
                }
                Screen.ENROL -> main.stop()
            }
        }
        column.removeAllViews()
        if (screen in WalletSession.TABS) tabs(screen)
        when (screen) {
            Screen.ENROL -> enrolScreen()
            Screen.APPLY -> applyScreen()
            Screen.PHOTO -> photoScreen()
            Screen.MAIN -> mainScreen()
            Screen.SUPPLEMENTARY -> supplementaryScreen()
            Screen.MESSAGES -> messagesScreen()
        }
    }

    private fun tabs(current: Screen) {
        val row = LinearLayout(this).apply { orientation = LinearLayout.HORIZONTAL }
        listOf(Screen.MAIN to "主页", Screen.SUPPLEMENTARY to "副页", Screen.MESSAGES to "消息").forEach { (tab, label) ->
            row.addView(Button(this).apply { text = label; isEnabled = tab != current; setOnClickListener { session.open(tab) } })
        }
        column.addView(row)
    }

    private fun enrolScreen() {
        val s = enrol.state.value
        title("绑定驾驶证")
        val url = field("交管服务地址", s.authorityUrl)
        val number = field("证号", s.licenceNumber)
        val code = field("激活码", s.activationCode)
        button("绑定", !s.busy) {
            enrol.edit(url.text.toString(), number.text.toString(), code.text.toString())
            launch { enrol.enrol() }
        }
        s.error?.let { error(it) }
    }

    private fun applyScreen() {
        val s = apply.state.value
        title("申领电子驾驶证")
        s.heading?.let { text(it.zh) }
        button("实人认证并申领", !s.busy) { launch { apply.apply() } }
        s.refusal?.let { error(it) }
    }

    private fun photoScreen() {
        val s = photo.state.value
        title("驾驶人照片")
        s.heading?.let { text(it.zh) }
        button("拍照") { pickSource = PhotoSource.CAMERA; pickPhoto.launch("image/*") }
        button("相册") { pickSource = PhotoSource.ALBUM; pickPhoto.launch("image/*") }
        s.photo?.let { image(it) }
        s.report?.let { r ->
            if (r.passes) text("✓ 符合要求")
            r.problems.forEach { error(it.hint) }
            r.leftToReviewer.forEach { text("· ${it.zh}").setTextColor(Color.GRAY) }
        }
        button("上传", s.canUpload) { launch { photo.upload() } }
        if (s.stage != null) {
            column.addView(ProgressBar(this, null, android.R.attr.progressBarStyleHorizontal).apply { max = 1000; progress = (s.progress * 1000).toInt() })
            s.stageText?.let { text(it.zh) }
        }
        s.deadline?.let { text(it.zh) }
        s.lastReview?.let { text("上次审核 ${reviewOutcomeText(it.outcome).zh}${it.reason?.let { r -> "：$r" } ?: ""}") }
        s.error?.let { error(it) }
    }

    private fun mainScreen() {
        val s = main.state.value
        s.page?.let { page ->
            s.photo?.let { image(it) }
            text("${page.name}  ${page.sexLabelZh}  ${page.nationality}")
            text("证号 ${page.licenceNumber}")
            text("出生日期 ${page.dateOfBirth}   初次领证 ${page.firstIssue}")
            text("准驾车型 ${page.classes}   有效期 ${page.validFrom} 至 ${s.validUntil?.zh}")
            if (s.colour != StatusColour.HIDDEN) {
                text("状态 ${page.status.labelZh}").setTextColor(if (s.colour == StatusColour.RED) Color.RED else Color.BLACK)
            }
        }
        Audience.values().forEach { a -> button(audienceText(a).zh, a != s.audience) { main.setAudience(a) } }
        listOf(PresentationForm.ONLINE to "在线码", PresentationForm.OFFLINE to "离线码").forEach { (f, label) ->
            button(label, f != s.form) { main.setForm(f) }
        }
        s.presentation?.let { p -> column.addView(QrView(this).apply { show(p) }) }
        text("${s.countdown} 后刷新")
        s.code?.let { c ->
            column.addView(BarcodeView(this).apply { show(c.barcodeModules) })
            text("手输码 ${c.manualCode}（${s.codeSecondsLeft} 秒）")
        }
        s.lastSynced?.let { text("上次同步 $it（北京时间）") }
        s.error?.let { error(it) }
    }

    private fun supplementaryScreen() {
        val page = supplementary.state.value.page ?: return
        text("住址 ${page.address}")
        text("发证机关 ${page.issuingAuthority}")
        val c = page.cycle
        text("记分周期 ${c.start} 至 ${c.end}")
        column.addView(ProgressBar(this, null, android.R.attr.progressBarStyleHorizontal).apply { max = 1000; progress = (supplementary.state.value.pointsBar * 1000).toInt() })
        supplementary.state.value.pointsLine?.let { text(it.zh).setTextColor(if (c.reachedLimit) Color.RED else Color.BLACK) }
        page.record.forEach { text("${it.date} ${it.place}\n${it.act}  记${it.points}分  罚款${it.fineYuan}元") }
        page.classMeanings.forEach { text("${it.code} ${it.meaningZh}") }
    }

    private fun messagesScreen() {
        val s = messages.state.value
        s.messages.forEach { text("${it.at}\n${it.title}\n${it.body}") }
        title("核验记录")
        s.verifications.forEach { text("${it.at} ${it.verifier}（${it.verifierClass.zh}）\n${it.method.zh} · ${it.audience.zh} · ${it.outcome.zh}") }
    }

    private fun title(s: String) = text(s).apply { textSize = 22f }

    private fun text(s: String) = TextView(this).apply { text = s }.also { column.addView(it) }

    private fun error(t: LocalizedText) = text("${t.zh}\n${t.en}").apply { setTextColor(Color.RED) }

    private fun image(jpeg: ByteArray) = column.addView(
        ImageView(this).apply { setImageBitmap(BitmapFactory.decodeByteArray(jpeg, 0, jpeg.size)); adjustViewBounds = true; maxHeight = 300 },
    )

    private fun field(hint: String, value: String) =
        EditText(this).apply { this.hint = hint; setText(value) }.also { column.addView(it) }

    private fun button(label: String, enabled: Boolean = true, onClick: () -> Unit) = column.addView(
        Button(this).apply { text = label; isEnabled = enabled; setOnClickListener { onClick() } },
    )

}
