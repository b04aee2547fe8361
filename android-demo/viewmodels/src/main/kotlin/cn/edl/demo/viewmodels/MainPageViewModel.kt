package cn.edl.demo.viewmodels

import cn.edl.wallet.Audience
import cn.edl.wallet.DynamicCode
import cn.edl.wallet.EdlException
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.MainPage
import cn.edl.wallet.Presentation
import cn.edl.wallet.PresentationForm
import cn.edl.wallet.RotationTicker
import cn.edl.wallet.StatusColour
import cn.edl.wallet.WalletEvent
import cn.edl.wallet.audienceText
import cn.edl.wallet.beijingTime
import cn.edl.wallet.countdownText
import cn.edl.wallet.errorText
import cn.edl.wallet.validityEndText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** The main page (主页) as shown. */
data class MainPageState(
    /** The page as of the last sync (null before it). */
    val page: MainPage? = null,
    /** The approved photo (JPEG). */
    val photo: ByteArray? = null,
    /** How the status is shown: black, red, or not at all. */
    val colour: StatusColour? = null,
    /** Whom the codes are shown to (the switch). */
    val audience: Audience = Audience.BUSINESS,
    /** The switch's label for that audience. */
    val audienceText: LocalizedText = audienceText(Audience.BUSINESS),
    /** Online QR (checked with the authority) or offline QR (checkable with the trust list). */
    val form: PresentationForm = PresentationForm.ONLINE,
    /** The live QR of the current window. */
    val presentation: Presentation? = null,
    /** Seconds until the QR rotates. */
    val secondsLeft: Int = 0,
    /** The QR countdown as printed, "0:27". */
    val countdown: String = "",
    /** The barcode and the manual code. */
    val code: DynamicCode? = null,
    /** Seconds until the manual code rotates. */
    val codeSecondsLeft: Int = 0,
    /** The validity's end as printed: the date, or 长期 (the core's `validityEndText`). */
    val validUntil: LocalizedText? = null,
    /** When the last sync completed (Beijing time). */
    val lastSynced: String? = null,
    /** A pull to refresh is under way. */
    val refreshing: Boolean = false,
    /** Why the last refresh failed (what is shown is still the stored page). */
    val error: LocalizedText? = null,
)

/**
 * The main page: the licence as of the last sync, the live QR that the core rotates every
 * window, its countdown, the barcode and manual code, the audience switch, the status colour
 * and the last-synced time; pull to refresh syncs. Works offline from the wallet's store.
 */
class MainPageViewModel(private val session: WalletSession) {
    private val wallet = session.wallet
    private val flow = MutableStateFlow(MainPageState())
    private var ticker: RotationTicker? = null
    private var codeFetchedAt = 0uL
    private val unlisten = session.listen(::onEvent)

    /** What the screen shows. */
    val state: StateFlow<MainPageState> = flow.asStateFlow()

    /** Shows the page and starts the QR's rotation (call when the screen appears). */
    fun start() {
        reload()
        rotate()
    }

    /** Stops the rotation (call when the screen goes). */
    fun stop() {
        synchronized(this) {
            ticker?.close()
            ticker = null
        }
    }

    /** Stops the rotation and the event listener for good. */
    fun close() {
        stop()
        unlisten()
    }

    /** The audience switch: the QR, barcode and manual code are made for `audience`. */
    fun setAudience(audience: Audience) {
        flow.update { it.copy(audience = audience, audienceText = audienceText(audience)) }
        rotate()
    }

    /** The form switch: online QR or offline QR. */
    fun setForm(form: PresentationForm) {
        flow.update { it.copy(form = form) }
        rotate()
    }

    /** Re-reads the page, the status colour, the photo, the last sync and the codes. */
    fun reload() {
        val page = wallet.mainPage()
        flow.update {
            it.copy(
                page = page,
                validUntil = page?.let { p -> validityEndText(p.validUntil) },
                photo = wallet.photo(),
                colour = wallet.statusColour(),
                lastSynced = wallet.lastSyncedUnix()?.let(::beijingTime),
            )
        }
        refreshCode()
    }

    /** Pull to refresh: syncs, then re-reads. Offline, the stored page stays with a notice. */
    suspend fun refresh() = session.refresh(flow, { on, error -> copy(refreshing = on, error = error) }, ::reload)

    /**
     * The UI's one-second timer: counts the QR and the manual code down by the wallet's clock
     * (the authority's time) and fetches a new barcode and manual code when theirs run out.
     * The QR itself is replaced by the core's rotation ticks.
     */
    fun tick() {
        val now = wallet.nowUnix()
        val code = flow.value.code
        if (code != null && now >= codeFetchedAt + minOf(code.secondsLeft, code.manualSecondsLeft)) refreshCode()
        flow.update { s ->
            val left = s.presentation?.let { (it.windowEndUnix.toLong() - now.toLong()).coerceAtLeast(0).toInt() } ?: 0
            val codeLeft = s.code?.let { (codeFetchedAt.toLong() + it.manualSecondsLeft.toLong() - now.toLong()).coerceAtLeast(0).toInt() } ?: 0
            s.copy(secondsLeft = left, countdown = countdownText(left.toUInt()), codeSecondsLeft = codeLeft)
        }
    }

    private fun rotate() {
        val s = flow.value
        synchronized(this) {
            ticker?.close()
            ticker = try {
                wallet.startRotation(s.form, s.audience)
            } catch (e: EdlException) {
                flow.update { it.copy(error = errorText(e)) }
                null
            }
        }
        refreshCode()
    }

    private fun refreshCode() {
        val audience = flow.value.audience
        try {
            val code = wallet.dynamicCode(audience)
            codeFetchedAt = wallet.nowUnix()
            flow.update { it.copy(code = code, codeSecondsLeft = code.manualSecondsLeft.toInt()) }
        } catch (e: EdlException.NoElicence) {
            flow.update { it.copy(code = null) }
        }
    }

    private fun onEvent(event: WalletEvent) {
        when (event) {
            is WalletEvent.Rotation -> {
                val p = event.presentation
                // A tick of a ticker just replaced may still arrive: only the chosen codes are shown.
                flow.update {
                    if (p.audience != it.audience || p.form != it.form) {
                        it
                    } else {
                        it.copy(presentation = p, secondsLeft = p.secondsLeft.toInt(), countdown = countdownText(p.secondsLeft))
                    }
                }
            }
            is WalletEvent.LicenceChanged, is WalletEvent.ElicenceChanged -> reload()
            else -> Unit
        }
    }
}
