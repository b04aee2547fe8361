package cn.edl.demo.viewmodels

import cn.edl.wallet.LocalizedText
import cn.edl.wallet.Message
import cn.edl.wallet.VerificationLogEntry
import cn.edl.wallet.WalletEvent
import cn.edl.wallet.audienceText
import cn.edl.wallet.beijingDateTime
import cn.edl.wallet.checkMethodText
import cn.edl.wallet.checkOutcomeText
import cn.edl.wallet.verifierClassText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** One message as listed. */
data class MessageRow(
    /** When it was sent (Beijing time). */
    val at: String,
    /** The authority's title. */
    val title: String,
    /** The authority's text. */
    val body: String,
    /** The message itself. */
    val message: Message,
)

/** One check of the e-licence as listed. */
data class VerificationRow(
    /** When (Beijing time). */
    val at: String,
    /** The verifier's name. */
    val verifier: String,
    /** Its kind (police, insurer, car rental, employer). */
    val verifierClass: LocalizedText,
    /** The view it was shown. */
    val audience: LocalizedText,
    /** QR, barcode or manual code. */
    val method: LocalizedText,
    /** What it found. */
    val outcome: LocalizedText,
    /** The entry itself. */
    val entry: VerificationLogEntry,
)

/** The messages screen as shown: newest first. */
data class MessagesState(
    /** Messages from the authority. */
    val messages: List<MessageRow> = emptyList(),
    /** Who checked the e-licence. */
    val verifications: List<VerificationRow> = emptyList(),
    /** A pull to refresh is under way. */
    val refreshing: Boolean = false,
    /** Why the last refresh failed. */
    val error: LocalizedText? = null,
)

/** Messages from the authority and the log of who verified the e-licence. */
class MessagesViewModel(private val session: WalletSession) {
    private val flow = MutableStateFlow(MessagesState())
    private val unlisten = session.listen {
        if (it is WalletEvent.NewMessages || it is WalletEvent.NewVerifications) reload()
    }

    /** What the screen shows. */
    val state: StateFlow<MessagesState> = flow.asStateFlow()

    init {
        reload()
    }

    /** Re-reads both lists from the wallet's store (the store keeps them oldest first). */
    fun reload() {
        val messages = session.wallet.messages().asReversed().map { MessageRow(beijingDateTime(it.atUnix), it.title, it.body, it) }
        val log = session.wallet.verificationLog().asReversed().map {
            VerificationRow(
                beijingDateTime(it.atUnix), it.verifier, verifierClassText(it.verifierClass),
                audienceText(it.audience), checkMethodText(it.method), checkOutcomeText(it.outcome), it,
            )
        }
        flow.update { it.copy(messages = messages, verifications = log) }
    }

    /** Pull to refresh: syncs, then re-reads. */
    suspend fun refresh() = session.refresh(flow, { on, error -> copy(refreshing = on, error = error) }, ::reload)

    /** Stops listening to the wallet. */
    fun close() = unlisten()
}
