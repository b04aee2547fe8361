import EdlWallet
import Foundation

/// The app's own words for the core's enums and typed errors (the Kotlin `Texts`). They name
/// what the core decided; where the core has the words (`notEligibleText`, photo hints,
/// status labels) they come from the core.
enum Texts {
    private static func t(_ zh: String, _ en: String) -> LocalizedText { LocalizedText(zh: zh, en: en) }

    static func error(_ error: Error) -> LocalizedText {
        guard let error = error as? EdlError else { return t("出现问题，请稍后再试", "Something went wrong: try again later") }
        switch error {
        case .NotEligible(let reason): return notEligibleText(reason: reason)
        case .Refused(let reason): return refusal(reason)
        case .Offline: return t("无法连接交管服务，已保存的内容仍可使用", "Offline: what is stored still works")
        case .UntrustedAuthority: return t("连接不安全，请换一个网络再试", "The connection is not secure: try another network")
        case .Busy(let s): return t("服务繁忙，请 \(s) 秒后再试", "Busy: try again in \(s) s")
        case .Unauthorised: return t("本机已不能使用电子驾驶证，请重新绑定", "This phone is no longer accepted: enrol again")
        case .NotEnrolled: return t("请先绑定驾驶证", "Enrol first")
        case .NoElicence: return t("尚未领取电子驾驶证", "No e-licence yet")
        case .PhotoNotAccepted: return t("照片不符合要求", "The photo does not meet the rules")
        case .Malformed: return t("内容无法识别", "This could not be read")
        case .StorageFull: return t("手机存储空间不足", "The phone is out of storage")
        case .CorruptStore, .KeyStore: return t("本机数据无法打开，请重新绑定", "The wallet cannot be opened: enrol again")
        default: return t("出现问题，请稍后再试", "Something went wrong: try again later")
        }
    }

    static func refusal(_ reason: RefusalReason) -> LocalizedText {
        switch reason {
        case .activationCodeInvalid: return t("激活码错误、已使用或已过期，请重新输入或到车管所领取", "The activation code is wrong, used or expired")
        case .identityCheckRequired: return t("请先完成实人认证", "The real-person check is needed first")
        case .identityCheckFailed: return t("实人认证未通过，请重试", "The real-person check failed: try again")
        case .elicenceStopped: return t("电子驾驶证已停止使用，请到车管所办理", "The e-licence was stopped: see the vehicle office")
        case .elicenceSuperseded: return t("电子驾驶证已更新，请刷新后重新申领", "The e-licence was replaced: refresh and apply again")
        case .invalidState: return t("申领状态已变化，请刷新", "The application changed: refresh")
        }
    }

    static func phase(_ phase: ApplicationPhase) -> LocalizedText {
        switch phase {
        case .notApplied: return t("尚未申领", "Not applied")
        case .awaitingPhoto: return t("请提交照片", "A photo is needed")
        case .underReview: return t("照片审核中", "Photo under review")
        case .issued: return t("已领取", "Issued")
        case .reapplyNeeded: return t("驾驶证已换证，请重新申领", "The licence was renewed: apply again")
        case .stopped: return t("电子驾驶证已停止使用，请到车管所办理", "The e-licence was stopped: see the vehicle office")
        }
    }

    static func stage(_ stage: UploadStage) -> LocalizedText {
        switch stage {
        case .checked: return t("检测通过", "Checked")
        case .normalised: return t("已处理", "Prepared")
        case .uploading: return t("上传中", "Uploading")
        case .uploaded: return t("已上传", "Uploaded")
        }
    }

    static func review(_ outcome: ReviewOutcome) -> LocalizedText {
        switch outcome {
        case .approved: return t("审核通过", "Approved")
        case .rejected: return t("未通过，请重新提交", "Rejected: take or pick another")
        case .rejectedMalicious: return t("未通过，电子驾驶证已停止使用", "Rejected: the e-licence is stopped")
        }
    }

    static func audience(_ audience: Audience) -> LocalizedText {
        switch audience {
        case .business: return t("企业核验", "Business")
        case .enforcement: return t("执法核验", "Police")
        }
    }

    static func verifierClass(_ c: VerifierClass) -> LocalizedText {
        switch c {
        case .enforcement: return t("执法", "Police")
        case .insurer: return t("保险", "Insurer")
        case .rental: return t("租车", "Car rental")
        case .employer: return t("用人单位", "Employer")
        }
    }

    static func method(_ m: CheckMethod) -> LocalizedText {
        switch m {
        case .qr: return t("扫码", "QR")
        case .barcode: return t("条码", "Barcode")
        case .manual: return t("手输码", "Manual code")
        }
    }

    static func outcome(_ o: CheckOutcome) -> LocalizedText {
        switch o {
        case .verified: return t("核验通过", "Verified")
        case .wrongCode: return t("核验码错误", "Wrong code")
        case .lockedOut: return t("已锁定", "Locked out")
        case .notCurrent: return t("证件无效", "Not current")
        }
    }
}

/// Times as the screens print them, in Beijing time (the Kotlin `Clock`).
enum Clock {
    private static func format(_ pattern: String, _ unix: UInt64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Asia/Shanghai")
        f.dateFormat = pattern
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    static func dateTime(_ unix: UInt64) -> String { format("yyyy-MM-dd HH:mm", unix) }
    static func time(_ unix: UInt64) -> String { format("HH:mm:ss", unix) }
    static func countdown(_ seconds: Int) -> String { String(format: "%d:%02d", seconds / 60, seconds % 60) }
}
