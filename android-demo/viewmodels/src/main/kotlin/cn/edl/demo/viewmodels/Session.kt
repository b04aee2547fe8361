package cn.edl.demo.viewmodels

import cn.edl.wallet.ApplicationPhase
import cn.edl.wallet.EdlException
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.Wallet
import cn.edl.wallet.WalletEvent
import cn.edl.wallet.WalletObserver
import cn.edl.wallet.errorText
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The screens of the driver's app, in the order a new driver meets them. */
enum class Screen {
    /** Bind this phone to the driver's account with the activation code. */
    ENROL,

    /** Apply for the e-licence (the real-person check), or see why it was refused. */
    APPLY,

    /** Pick a photo, see the phone's checks, upload it, wait for the review. */
    PHOTO,

    /** The main page: the live QR, the barcode and manual code, the status. */
    MAIN,

    /** The supplementary page: points and the driving record. */
    SUPPLEMENTARY,

    /** Messages from the authority and who checked the e-licence. */
    MESSAGES,
}

/**
 * The one wallet of the app and the one observer it allows, shared by the view models: it
 * fans the wallet's events out to them and says which screen the application's phase calls
 * for. Events arrive on a library thread; listeners only update their state flows, which
 * the UI collects on its own thread.
 */
class WalletSession(val wallet: Wallet) : WalletObserver {
    private val listeners = CopyOnWriteArrayList<(WalletEvent) -> Unit>()
    private val screenFlow = MutableStateFlow(Screen.ENROL)

    /** The screen to show; `route()` and wallet events move it. */
    val screen: StateFlow<Screen> = screenFlow.asStateFlow()

    init {
        wallet.setObserver(this)
        route()
    }

    /** Adds a listener of every wallet event; returns what removes it. */
    fun listen(listener: (WalletEvent) -> Unit): () -> Unit {
        listeners.add(listener)
        return { listeners.remove(listener) }
    }

    override fun onEvent(event: WalletEvent) {
        if (event is WalletEvent.ApplicationChanged || event is WalletEvent.ElicenceChanged) route()
        listeners.forEach { it(event) }
    }

    /**
     * Moves to the screen the wallet's state calls for: enrolment, the application, the
     * photo, or (once issued) the pages. A driver already on one of the issued tabs stays
     * there. Only navigation is decided here; what each phase means is the core's.
     */
    fun route() {
        val next = when {
            !wallet.isEnrolled() -> Screen.ENROL
            else -> when (wallet.application()?.phase) {
                null, ApplicationPhase.NOT_APPLIED, ApplicationPhase.REAPPLY_NEEDED, ApplicationPhase.STOPPED -> Screen.APPLY
                ApplicationPhase.AWAITING_PHOTO, ApplicationPhase.UNDER_REVIEW -> Screen.PHOTO
                ApplicationPhase.ISSUED -> if (screenFlow.value in TABS) screenFlow.value else Screen.MAIN
            }
        }
        screenFlow.value = next
    }

    /** Opens one of the issued e-licence's tabs (main page, supplementary page, messages). */
    fun open(tab: Screen) {
        require(tab in TABS) { "only the issued e-licence's tabs can be opened directly" }
        if (wallet.application()?.phase == ApplicationPhase.ISSUED) screenFlow.value = tab
    }

    /**
     * Pull to refresh, for every screen: syncs with the authority and returns what to tell
     * the driver when it failed (the core's `errorText`), or null. The screen re-reads its
     * own state afterwards, from the store, so an offline driver still sees the last sync.
     */
    suspend fun sync(): LocalizedText? = try {
        wallet.sync()
        null
    } catch (e: EdlException) {
        errorText(e)
    }

    /**
     * A tab's pull to refresh: marks its state refreshing with `mark`, syncs, marks it done
     * with the error text (or null), then re-reads the tab with `reload`.
     */
    suspend fun <S> refresh(flow: MutableStateFlow<S>, mark: S.(Boolean, LocalizedText?) -> S, reload: () -> Unit) {
        flow.update { it.mark(true, null) }
        val error = sync()
        flow.update { it.mark(false, error) }
        reload()
    }

    /** Stops the observer; the app closes the wallet itself. */
    fun close() {
        wallet.setObserver(null)
        listeners.clear()
    }

    companion object {
        /** The tabs of an issued e-licence. */
        val TABS = setOf(Screen.MAIN, Screen.SUPPLEMENTARY, Screen.MESSAGES)
    }
}
