package cn.edl.demo.viewmodels

import cn.edl.wallet.ApplicationPhase
import cn.edl.wallet.EdlException
import cn.edl.wallet.IdentityProvider
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.NotEligibleReason
import cn.edl.wallet.applicationPhaseText
import cn.edl.wallet.errorText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** The application screen as shown. */
data class ApplyState(
    /** Where the application stands (null before the first application). */
    val phase: ApplicationPhase?,
    /** The heading for that phase. */
    val heading: LocalizedText?,
    /** A call is under way. */
    val busy: Boolean = false,
    /** Why the licence may not have an e-licence, when the authority said so. */
    val notEligible: NotEligibleReason? = null,
    /** The text for the driver: the core's `notEligibleText`, or why the call failed. */
    val refusal: LocalizedText? = null,
)

/**
 * Applying for the e-licence: the real-person check by the app's face SDK (`identity`), then
 * the authority's answer. A licence not in force is refused with the core's reason and text.
 */
class ApplyViewModel(private val session: WalletSession, private val identity: IdentityProvider) {
    private val flow = MutableStateFlow(read())

    /** What the screen shows. */
    val state: StateFlow<ApplyState> = flow.asStateFlow()

    private fun read(): ApplyState {
        val phase = session.wallet.application()?.phase
        return ApplyState(phase, phase?.let(::applicationPhaseText))
    }

    /** Applies; on success the session moves on (photo, review or the pages). */
    suspend fun apply(): Boolean {
        flow.update { it.copy(busy = true, refusal = null, notEligible = null) }
        return try {
            session.wallet.apply(identity)
            flow.value = read()
            session.route()
            true
        } catch (e: EdlException) {
            val reason = (e as? EdlException.NotEligible)?.reason
            flow.update { it.copy(busy = false, notEligible = reason, refusal = errorText(e)) }
            false
        }
    }

    /** Re-reads the application (after a sync elsewhere). */
    fun reload() {
        flow.update { read().copy(notEligible = it.notEligible, refusal = it.refusal) }
    }
}
