package cn.edl.demo.desktop

import cn.edl.demo.DemoIdentity
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
import cn.edl.wallet.IdentityProvider
import cn.edl.wallet.Wallet
import cn.edl.wallet.keyFileKeyStore
import cn.edl.wallet.loadFaceModel
import java.awt.BorderLayout
import java.awt.Color
import java.awt.Dimension
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean
import javax.swing.BorderFactory
import javax.swing.JFrame
import javax.swing.JPanel
import javax.swing.JScrollPane
import javax.swing.SwingUtilities
import javax.swing.Timer
import kotlin.system.exitProcess
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.merge
import kotlinx.coroutines.launch

/**
 * A phone-sized desktop window over the demo's view models: every screen of the driver's
 * app, drawn with Swing from the same state the Android and SwiftUI screens draw.
 */
class DesktopApp(private val session: WalletSession, authorityUrl: String, identity: IdentityProvider) {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val screens = Screens(scope)

    /** The view models, one per screen. */
    val enrol = EnrolViewModel(session, authorityUrl)
    val apply = ApplyViewModel(session, identity)
    val photo = PhotoViewModel(session)
    val main = MainPageViewModel(session)
    val supplementary = SupplementaryViewModel(session)
    val messages = MessagesViewModel(session)

    /** The window (430 × 900, a phone's proportions). */
    val frame = JFrame("电子驾驶证 EDL demo")
    private val content = JPanel(BorderLayout())
    private val pending = AtomicBoolean()
    private var shown: Screen? = null
    private val timer = Timer(1000) { if (session.screen.value in WalletSession.TABS) main.tick() }

    /** Shows the window and keeps it drawn from the view models' state. */
    fun show() {
        frame.defaultCloseOperation = JFrame.DISPOSE_ON_CLOSE
        frame.contentPane = content
        content.background = Color.WHITE
        frame.size = Dimension(430, 900)
        frame.setLocation(0, 0)
        frame.isVisible = true
        scope.launch {
            merge(
                session.screen, enrol.state, apply.state, photo.state, main.state, supplementary.state, messages.state,
            ).collect { requestRender() }
        }
        timer.start()
        requestRender()
    }

    private fun requestRender() {
        if (pending.compareAndSet(false, true)) {
            SwingUtilities.invokeLater {
                pending.set(false)
                render()
            }
        }
    }

    /** Draws the current screen (on the Swing thread). */
    fun render() {
        val screen = session.screen.value
        if (screen != shown) enter(screen)
        content.removeAll()
        if (screen in WalletSession.TABS) content.add(tabs(screen), BorderLayout.NORTH)
        val body = when (screen) {
            Screen.ENROL -> screens.enrol(enrol)
            Screen.APPLY -> screens.apply(apply)
            Screen.PHOTO -> screens.photo(photo)
            Screen.MAIN -> screens.main(main)
            Screen.SUPPLEMENTARY -> screens.supplementary(supplementary)
            Screen.MESSAGES -> screens.messages(messages)
        }
        content.add(
            JScrollPane(body).apply {
                border = BorderFactory.createEmptyBorder()
                horizontalScrollBarPolicy = JScrollPane.HORIZONTAL_SCROLLBAR_NEVER
                verticalScrollBar.unitIncrement = 16
            },
            BorderLayout.CENTER,
        )
        content.revalidate()
        content.repaint()
    }

    /** What a screen does as it appears: fresh state, and the QR rotation only while the pages show. */
    private fun enter(screen: Screen) {
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

    private fun tabs(current: Screen) = Ui.line(
        *listOf(Screen.MAIN to "主页 Main", Screen.SUPPLEMENTARY to "副页 Record", Screen.MESSAGES to "消息 Messages").map { (tab, label) ->
            Ui.button(if (tab == current) "● $label" else label) { session.open(tab) }
        }.toTypedArray(),
    ).apply { border = BorderFactory.createEmptyBorder(8, 12, 0, 12) }

    /** Closes the window and stops the rotation. */
    fun close() {
        timer.stop()
        main.close()
        supplementary.close()
        messages.close()
        scope.cancel()
        SwingUtilities.invokeAndWait { frame.dispose() }
    }
}

/**
 * `DesktopAppKt`: with `--tour <dir>`, drives a new driver through every screen against the
 * authority of EDL_AUTHORITY_URL (bindings/test.sh screenshots) and saves a PNG of each;
 * otherwise opens the window on a wallet in `--wallet <dir>` (default ~/.edl-demo), unlocked
 * by the key file `--key <file>` (default ~/.edl-demo.key, beside the directory:
 * [DesktopPaths]), for `--authority <url>`, with the development identity secret
 * `--identity-secret <s>`.
 */
fun main(args: Array<String>) {
    val options = args.toList().chunked(2).associate { it[0] to it.getOrElse(1) { "" } }
    System.getenv("EDL_FACE_MODEL")?.let { loadFaceModel(File(it).readBytes()) }
    options["--tour"]?.let {
        Tour(File(it)).run()
        exitProcess(0)
    }
    val paths = DesktopPaths.of(options, File(System.getProperty("user.home")))
    try {
        paths.prepare()
    } catch (e: Exception) {
        if (e !is IllegalArgumentException && e !is java.io.IOException) throw e
        System.err.println("cannot use ${paths.wallet} and ${paths.key}: ${e.message}")
        exitProcess(1)
    }
    val session = when (val opening = openWallet { Wallet(paths.wallet.path, keyFileKeyStore(paths.key.path)) }) {
        is WalletOpening.Opened -> opening.session
        is WalletOpening.Failed -> {
            System.err.println("${opening.text.zh} (${opening.text.en})")
            exitProcess(1)
        }
    }
    val identity = DemoIdentity((options["--identity-secret"] ?: System.getenv("EDL_IDENTITY_SECRET") ?: "").toByteArray())
    val app = DesktopApp(session, options["--authority"] ?: "http://127.0.0.1:8088", identity)
    SwingUtilities.invokeAndWait { app.show() }
}
