package cn.edl.demo.viewmodels

import cn.edl.wallet.LocalizedText
import cn.edl.wallet.SupplementaryPage
import cn.edl.wallet.WalletEvent
import cn.edl.wallet.pointsFraction
import cn.edl.wallet.pointsText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** The supplementary page (副页) as shown. */
data class SupplementaryState(
    /** The page as of the last sync: address, authority, record, the scoring cycle, class meanings. */
    val page: SupplementaryPage? = null,
    /** How full the points bar is drawn (0–1): the core's `pointsFraction` of the cycle. */
    val pointsBar: Float = 0f,
    /** The points recorded, the limit and the points left as one sentence: the core's `pointsText`. */
    val pointsLine: LocalizedText? = null,
    /** A pull to refresh is under way. */
    val refreshing: Boolean = false,
    /** Why the last refresh failed. */
    val error: LocalizedText? = null,
)

/** The supplementary page: the points bar of the scoring cycle and the driving record. */
class SupplementaryViewModel(private val session: WalletSession) {
    private val flow = MutableStateFlow(SupplementaryState())
    private val unlisten = session.listen { if (it is WalletEvent.LicenceChanged) reload() }

    /** What the screen shows. */
    val state: StateFlow<SupplementaryState> = flow.asStateFlow()

    init {
        reload()
    }

    /** Re-reads the page from the wallet's store. */
    fun reload() {
        val page = session.wallet.supplementaryPage()
        val bar = page?.cycle?.let { pointsFraction(it.points, it.limit) } ?: 0f
        flow.update { it.copy(page = page, pointsBar = bar, pointsLine = page?.cycle?.let(::pointsText)) }
    }

    /** Pull to refresh: syncs, then re-reads. */
    suspend fun refresh() = session.refresh(flow, { on, error -> copy(refreshing = on, error = error) }, ::reload)

    /** Stops listening to the wallet. */
    fun close() = unlisten()
}
