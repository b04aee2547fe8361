package cn.edl.demo.viewmodels

import cn.edl.wallet.ApplicationPhase
import cn.edl.wallet.EdlException
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.PhotoReport
import cn.edl.wallet.PhotoReview
import cn.edl.wallet.PhotoSource
import cn.edl.wallet.UploadProgress
import cn.edl.wallet.UploadStage
import cn.edl.wallet.applicationPhaseText
import cn.edl.wallet.errorText
import cn.edl.wallet.reviewDeadlineText
import cn.edl.wallet.uploadStageText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** The photo screen as shown. */
data class PhotoState(
    /** The picked photo's bytes (JPEG or PNG), for the preview. */
    val photo: ByteArray? = null,
    /** Camera or album. */
    val source: PhotoSource? = null,
    /** What the phone's checks found in it: the problems with their hints, the reviewer's rules. */
    val report: PhotoReport? = null,
    /** The upload button is enabled: a photo that passes the phone's checks and no upload under way. */
    val canUpload: Boolean = false,
    /** The upload's last stage, and its label. */
    val stage: UploadStage? = null,
    /** The label of that stage. */
    val stageText: LocalizedText? = null,
    /** The progress bar (0–1), as the core reports it. */
    val progress: Float = 0f,
    /** Where the application stands, and its heading. */
    val phase: ApplicationPhase? = null,
    /** The heading for the phase. */
    val heading: LocalizedText? = null,
    /** While a photo is reviewed, when the review is due: the core's sentence naming Beijing time. */
    val deadline: LocalizedText? = null,
    /** The last review result, e.g. a rejection with the reviewer's reason. */
    val lastReview: PhotoReview? = null,
    /** Why the last call failed. */
    val error: LocalizedText? = null,
    /** A call is under way. */
    val busy: Boolean = false,
)

/** The photo: pick one, see the phone's checks, upload it with progress, wait for the review. */
class PhotoViewModel(private val session: WalletSession) {
    private val flow = MutableStateFlow(PhotoState().withApplication())

    /** What the screen shows. */
    val state: StateFlow<PhotoState> = flow.asStateFlow()

    private fun PhotoState.withApplication(): PhotoState {
        val application = session.wallet.application()
        return copy(
            phase = application?.phase,
            heading = application?.phase?.let(::applicationPhaseText),
            deadline = application?.pendingReview?.deadlineUnix?.let(::reviewDeadlineText),
            lastReview = session.wallet.photoReviews().lastOrNull(),
        )
    }

    /** A photo taken or picked: the phone's checks run at once, without the network. */
    suspend fun pick(photo: ByteArray, source: PhotoSource) {
        try {
            val report = session.wallet.checkPhoto(photo)
            flow.update { it.copy(photo = photo, source = source, report = report, canUpload = report.passes, stage = null, stageText = null, progress = 0f, error = null) }
        } catch (e: EdlException) {
            flow.update { it.copy(photo = null, report = null, canUpload = false, error = errorText(e)) }
        }
    }

    /** Uploads the picked photo; the bar follows the core's stages. */
    suspend fun upload(): Boolean {
        val s = flow.value
        val photo = s.photo ?: return false
        if (!s.canUpload) return false
        flow.update { it.copy(busy = true, canUpload = false, error = null) }
        val progress = object : UploadProgress {
            override fun onStage(stage: UploadStage, fraction: Float) {
                flow.update { it.copy(stage = stage, stageText = uploadStageText(stage), progress = fraction) }
            }
        }
        return try {
            session.wallet.submitPhoto(photo, s.source ?: PhotoSource.ALBUM, progress)
            flow.update { it.copy(busy = false).withApplication() }
            session.route()
            true
        } catch (e: EdlException) {
            flow.update { it.copy(busy = false, canUpload = it.report?.passes == true, error = errorText(e)) }
            false
        }
    }

    /** Pull to refresh: asks the authority for the review's result. */
    suspend fun refresh() {
        flow.update { it.copy(busy = true, error = null) }
        val error = session.sync()
        flow.update { it.copy(busy = false, error = error).withApplication() }
        session.route()
    }

    /** Re-reads the application (after a wallet event). */
    fun reload() {
        flow.update { it.withApplication() }
    }
}
