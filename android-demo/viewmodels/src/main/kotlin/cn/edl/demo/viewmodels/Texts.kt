package cn.edl.demo.viewmodels

import cn.edl.wallet.ApplicationPhase
import cn.edl.wallet.Audience
import cn.edl.wallet.CheckMethod
import cn.edl.wallet.CheckOutcome
import cn.edl.wallet.EdlException
import cn.edl.wallet.LocalizedText
import cn.edl.wallet.RefusalReason
import cn.edl.wallet.ReviewOutcome
import cn.edl.wallet.UploadStage
import cn.edl.wallet.VerifierClass
import cn.edl.wallet.notEligibleText

/**
 * The app's own words: labels for the core's enums and what to tell the driver after a
 * typed error, in Chinese and English (an Android app would keep them in strings.xml). They
 * name what the core decided; none of them decides anything. Where the core has the words
 * (`notEligibleText`, photo hints, status labels) they come from the core.
 */
object Texts {
    private fun t(zh: String, en: String) = LocalizedText(zh, en)

    /** What to tell the driver after a failed wallet call. No personal data is in any of it. */
    fun error(e: EdlException): LocalizedText = when (e) {
        is EdlException.NotEligible -> notEligibleText(e.reason)
        is EdlException.Refused -> refusal(e.reason)
        is EdlException.Offline -> t("无法连接交管服务，已保存的内容仍可使用", "Offline: what is stored still works")
        is EdlException.UntrustedAuthority -> t("连接不安全，请换一个网络再试", "The connection is not secure: try another network")
        is EdlException.Busy -> t("服务繁忙，请 ${e.retryAfterSecs} 秒后再试", "Busy: try again in ${e.retryAfterSecs} s")
        is EdlException.Unauthorised -> t("本机已不能使用电子驾驶证，请重新绑定", "This phone is no longer accepted: enrol again")
        is EdlException.NotEnrolled -> t("请先绑定驾驶证", "Enrol first")
        is EdlException.NoElicence -> t("尚未领取电子驾驶证", "No e-licence yet")
        is EdlException.PhotoNotAccepted -> t("照片不符合要求", "The photo does not meet the rules")
        is EdlException.Malformed -> t("内容无法识别", "This could not be read")
        is EdlException.StorageFull -> t("手机存储空间不足", "The phone is out of storage")
        is EdlException.CorruptStore, is EdlException.KeyStore ->
            t("本机数据无法打开，请重新绑定", "The wallet cannot be opened: enrol again")
        else -> t("出现问题，请稍后再试", "Something went wrong: try again later")
    }

    /** What the driver can do about an authority's refusal (the UDL's wording of each reason). */
    fun refusal(reason: RefusalReason): LocalizedText = when (reason) {
        RefusalReason.ACTIVATION_CODE_INVALID ->
            t("激活码错误、已使用或已过期，请重新输入或到车管所领取", "The activation code is wrong, used or expired")
        RefusalReason.IDENTITY_CHECK_REQUIRED -> t("请先完成实人认证", "The real-person check is needed first")
        RefusalReason.IDENTITY_CHECK_FAILED -> t("实人认证未通过，请重试", "The real-person check failed: try again")
        RefusalReason.ELICENCE_STOPPED -> t("电子驾驶证已停止使用，请到车管所办理", "The e-licence was stopped: see the vehicle office")
        RefusalReason.ELICENCE_SUPERSEDED -> t("电子驾驶证已更新，请刷新后重新申领", "The e-licence was replaced: refresh and apply again")
        RefusalReason.INVALID_STATE -> t("申领状态已变化，请刷新", "The application changed: refresh")
    }

    /** Where the application stands, as a heading. */
    fun phase(phase: ApplicationPhase): LocalizedText = when (phase) {
        ApplicationPhase.NOT_APPLIED -> t("尚未申领", "Not applied")
        ApplicationPhase.AWAITING_PHOTO -> t("请提交照片", "A photo is needed")
        ApplicationPhase.UNDER_REVIEW -> t("照片审核中", "Photo under review")
        ApplicationPhase.ISSUED -> t("已领取", "Issued")
        ApplicationPhase.REAPPLY_NEEDED -> t("驾驶证已换证，请重新申领", "The licence was renewed: apply again")
        ApplicationPhase.STOPPED -> t("电子驾驶证已停止使用，请到车管所办理", "The e-licence was stopped: see the vehicle office")
    }

    /** A photo upload's stage, under the progress bar. */
    fun stage(stage: UploadStage): LocalizedText = when (stage) {
        UploadStage.CHECKED -> t("检测通过", "Checked")
        UploadStage.NORMALISED -> t("已处理", "Prepared")
        UploadStage.UPLOADING -> t("上传中", "Uploading")
        UploadStage.UPLOADED -> t("已上传", "Uploaded")
    }

    /** A photo review's decision. */
    fun review(outcome: ReviewOutcome): LocalizedText = when (outcome) {
        ReviewOutcome.APPROVED -> t("审核通过", "Approved")
        ReviewOutcome.REJECTED -> t("未通过，请重新提交", "Rejected: take or pick another")
        ReviewOutcome.REJECTED_MALICIOUS -> t("未通过，电子驾驶证已停止使用", "Rejected: the e-licence is stopped")
    }

    /** The audience switch's labels. */
    fun audience(audience: Audience): LocalizedText = when (audience) {
        Audience.BUSINESS -> t("企业核验", "Business")
        Audience.ENFORCEMENT -> t("执法核验", "Police")
    }

    /** The kind of verifier in the verification log. */
    fun verifierClass(c: VerifierClass): LocalizedText = when (c) {
        VerifierClass.ENFORCEMENT -> t("执法", "Police")
        VerifierClass.INSURER -> t("保险", "Insurer")
        VerifierClass.RENTAL -> t("租车", "Car rental")
        VerifierClass.EMPLOYER -> t("用人单位", "Employer")
    }

    /** How a check was made, in the verification log. */
    fun method(m: CheckMethod): LocalizedText = when (m) {
        CheckMethod.QR -> t("扫码", "QR")
        CheckMethod.BARCODE -> t("条码", "Barcode")
        CheckMethod.MANUAL -> t("手输码", "Manual code")
    }

    /** What a check found, in the verification log. */
    fun outcome(o: CheckOutcome): LocalizedText = when (o) {
        CheckOutcome.VERIFIED -> t("核验通过", "Verified")
        CheckOutcome.WRONG_CODE -> t("核验码错误", "Wrong code")
        CheckOutcome.LOCKED_OUT -> t("已锁定", "Locked out")
        CheckOutcome.NOT_CURRENT -> t("证件无效", "Not current")
    }
}
