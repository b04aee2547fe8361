package cn.edl.demo.viewmodels

import cn.edl.wallet.EdlException
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.errorText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** The enrolment form as shown. */
data class EnrolState(
    /** The authority's address (a development authority's URL in the demo). */
    val authorityUrl: String,
    /** 证号, as typed. */
    val licenceNumber: String = "",
    /** The one-time activation code (SMS or vehicle office), as typed. */
    val activationCode: String = "",
    /** A call is under way: the button is disabled. */
    val busy: Boolean = false,
    /** Why the last attempt failed. */
    val error: LocalizedText? = null,
)

/** Enrolment: binds this phone's wallet to the driver's account. */
class EnrolViewModel(private val session: WalletSession, authorityUrl: String) {
    private val flow = MutableStateFlow(EnrolState(authorityUrl))

    /** What the screen shows. */
    val state: StateFlow<EnrolState> = flow.asStateFlow()

    /** The fields as the driver edits them. */
    fun edit(authorityUrl: String = flow.value.authorityUrl, licenceNumber: String = flow.value.licenceNumber, activationCode: String = flow.value.activationCode) {
        flow.update { it.copy(authorityUrl = authorityUrl, licenceNumber = licenceNumber, activationCode = activationCode, error = null) }
    }

    /** Enrols with the fields; on success the session moves on to the application. */
    suspend fun enrol(): Boolean {
        val s = flow.value
        flow.update { it.copy(busy = true, error = null) }
        return try {
            session.wallet.enrol(s.authorityUrl.trim(), s.licenceNumber.trim(), s.activationCode.trim())
            flow.update { it.copy(busy = false, activationCode = "") }
            session.route()
            true
        } catch (e: EdlException) {
            flow.update { it.copy(busy = false, error = errorText(e)) }
            false
        }
    }
}
