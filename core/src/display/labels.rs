//! Labels for the core's enums, as a screen heads or lists them.

use super::Bilingual;
use crate::credential::Audience;
use crate::wire::{ApplicationPhase, CheckMethod, CheckOutcome, ReviewOutcome, VerifierClass};

/// Where the application stands, as a heading.
pub fn application_phase(phase: ApplicationPhase) -> Bilingual {
    use ApplicationPhase::*;
    let (zh, en) = match phase {
        NotApplied => ("尚未申领", "Not applied"),
        AwaitingPhoto => ("请提交照片", "A photo is needed"),
        UnderReview => ("照片审核中", "Photo under review"),
        Issued => ("已领取", "Issued"),
        ReapplyNeeded => (
            "驾驶证已换证，请重新申领",
            "The licence was renewed: apply again",
        ),
        Stopped => (
            "电子驾驶证已停止使用，请到车管所办理",
            "The e-licence was stopped: see the vehicle office",
        ),
    };
    Bilingual::new(zh, en)
}

/// A photo upload's stage, under its progress bar.
#[cfg(feature = "wallet")]
pub fn upload_stage(stage: crate::wallet::UploadStage) -> Bilingual {
    use crate::wallet::UploadStage::*;
    let (zh, en) = match stage {
        Checked => ("检测通过", "Checked"),
        Normalised => ("已处理", "Prepared"),
        Uploading => ("上传中", "Uploading"),
        Uploaded => ("已上传", "Uploaded"),
    };
    Bilingual::new(zh, en)
}

/// A photo review's decision, with what the driver does next.
pub fn review_outcome(outcome: ReviewOutcome) -> Bilingual {
    let (zh, en) = match outcome {
        ReviewOutcome::Approved => ("审核通过", "Approved"),
        ReviewOutcome::Rejected => ("未通过，请重新提交", "Rejected: take or pick another"),
        ReviewOutcome::RejectedMalicious => (
            "未通过，电子驾驶证已停止使用",
            "Rejected: the e-licence is stopped",
        ),
    };
    Bilingual::new(zh, en)
}

/// Whom the codes are shown to: the audience switch's labels.
pub fn audience(audience: Audience) -> Bilingual {
    let (zh, en) = match audience {
        Audience::Business => ("企业核验", "Business"),
        Audience::Enforcement => ("执法核验", "Police"),
    };
    Bilingual::new(zh, en)
}

/// The kind of verifier, in the driver's verification log.
pub fn verifier_class(class: VerifierClass) -> Bilingual {
    let (zh, en) = match class {
        VerifierClass::Enforcement => ("执法", "Police"),
        VerifierClass::Insurer => ("保险", "Insurer"),
        VerifierClass::Rental => ("租车", "Car rental"),
        VerifierClass::Employer => ("用人单位", "Employer"),
    };
    Bilingual::new(zh, en)
}

/// How a check was made, in the verification log.
pub fn check_method(method: CheckMethod) -> Bilingual {
    let (zh, en) = match method {
        CheckMethod::Qr => ("扫码", "QR"),
        CheckMethod::Barcode => ("条码", "Barcode"),
        CheckMethod::Manual => ("手输码", "Manual code"),
    };
    Bilingual::new(zh, en)
}

/// What a check found, in the verification log.
pub fn check_outcome(outcome: CheckOutcome) -> Bilingual {
    let (zh, en) = match outcome {
        CheckOutcome::Verified => ("核验通过", "Verified"),
        CheckOutcome::WrongCode => ("核验码错误", "Wrong code"),
        CheckOutcome::LockedOut => ("已锁定", "Locked out"),
        CheckOutcome::NotCurrent => ("证件无效", "Not current"),
    };
    Bilingual::new(zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_both_languages_and_no_two_of_an_enum_read_alike() {
        fn distinct(labels: Vec<Bilingual>) {
            for (i, a) in labels.iter().enumerate() {
                assert!(
                    !a.zh.is_empty() && a.en.is_ascii() && !a.en.is_empty(),
                    "{a:?}"
                );
                for b in &labels[i + 1..] {
                    assert!(a.zh != b.zh && a.en != b.en, "{a:?} / {b:?}");
                }
            }
        }
        use ApplicationPhase as P;
        distinct(
            [
                P::NotApplied,
                P::AwaitingPhoto,
                P::UnderReview,
                P::Issued,
                P::ReapplyNeeded,
                P::Stopped,
            ]
            .map(application_phase)
            .into(),
        );
        distinct(VerifierClass::ALL.map(verifier_class).into());
        distinct(
            [CheckMethod::Qr, CheckMethod::Barcode, CheckMethod::Manual]
                .map(check_method)
                .into(),
        );
        use CheckOutcome as O;
        distinct(
            [O::Verified, O::WrongCode, O::LockedOut, O::NotCurrent]
                .map(check_outcome)
                .into(),
        );
        use ReviewOutcome as R;
        distinct(
            [R::Approved, R::Rejected, R::RejectedMalicious]
                .map(review_outcome)
                .into(),
        );
        distinct(
            [Audience::Business, Audience::Enforcement]
                .map(audience)
                .into(),
        );
    }

    #[test]
    fn the_audience_switch_names_business_and_police() {
        assert_eq!(audience(Audience::Business).zh, "企业核验");
        assert_eq!(audience(Audience::Enforcement).en, "Police");
    }

    #[test]
    fn a_malicious_photo_tells_the_driver_the_e_licence_is_stopped() {
        let text = review_outcome(ReviewOutcome::RejectedMalicious);
        assert!(text.zh.contains("停止使用"), "{}", text.zh);
        assert!(text.en.contains("stopped"), "{}", text.en);
        // A plain rejection asks for another photo instead.
        assert!(
            review_outcome(ReviewOutcome::Rejected)
                .zh
                .contains("重新提交")
        );
    }

    #[cfg(feature = "wallet")]
    #[test]
    fn upload_stages_read_in_order() {
        use crate::wallet::UploadStage::*;
        let zh: Vec<String> = [Checked, Normalised, Uploading, Uploaded]
            .map(|s| upload_stage(s).zh)
            .into();
        assert_eq!(zh, ["检测通过", "已处理", "上传中", "已上传"]);
    }
}

/// What the lists the wallet holds say about its own e-licence (D93): what a police scanner
/// holding the same lists would answer offline.
pub fn own_status(status: crate::verify::OwnStatus) -> Bilingual {
    use crate::verify::OwnStatus::*;
    let (zh, en) = match status {
        InForce => ("状态正常（离线名单）", "In force (offline list)"),
        Suspended => (
            "电子驾驶证已暂停，离线核验将不通过",
            "Suspended: offline checks will refuse it",
        ),
        Superseded => (
            "电子驾驶证已失效，请同步",
            "No longer valid: sync the wallet",
        ),
        // Not "sync": a sync brings the same dates; only a renewal helps (D154).
        LicenceExpired => (
            "驾驶证已超过有效期，请办理换证",
            "Licence expired: renew the licence",
        ),
        LicenceNotYetValid => (
            "驾驶证有效期尚未开始，起始日前离线核验不通过",
            "Licence not valid yet: offline checks refuse it until its first day",
        ),
        Unknown => (
            "离线名单已过期，核验方需在线查询",
            "Offline list out of date: verifiers must check online",
        ),
        NotChecked => (
            "尚无有效的离线名单，请联网更新",
            "No valid offline list yet: go online to update",
        ),
    };
    Bilingual::new(zh, en)
}

/// What a verifier's screen says of the status check of an accepted presentation.
pub fn status_check(status: crate::verify::StatusCheck) -> Bilingual {
    use crate::verify::StatusCheck::*;
    let (zh, en) = match status {
        NotChecked => ("未核对状态名单", "Status list not checked"),
        InForce => ("状态有效", "In force"),
        Unknown => (
            "签名有效，状态未知：请在线核验",
            "Signature valid, status unknown: check online",
        ),
    };
    Bilingual::new(zh, en)
}

#[cfg(test)]
mod status_tests {
    use super::*;
    use crate::verify::{OwnStatus, StatusCheck};

    #[test]
    fn every_own_status_reads_differently_in_both_languages() {
        let words = OwnStatus::ALL.map(own_status);
        for (i, a) in words.iter().enumerate() {
            assert!(
                !a.zh.is_empty() && !a.en.is_empty() && a.en.is_ascii(),
                "{a:?}"
            );
            for b in &words[i + 1..] {
                assert!(a.zh != b.zh && a.en != b.en, "{a:?} / {b:?}");
            }
        }
    }

    #[test]
    fn an_expired_licence_asks_for_a_renewal_and_a_superseded_e_licence_for_a_sync() {
        // A sync brings the same dates: only a renewal (换证) helps (D154).
        let expired = own_status(OwnStatus::LicenceExpired);
        assert!(expired.zh.contains("换证"), "{}", expired.zh);
        assert!(expired.en.contains("renew"), "{}", expired.en);
        let superseded = own_status(OwnStatus::Superseded);
        assert!(superseded.zh.contains("同步"), "{}", superseded.zh);
        assert!(superseded.en.contains("sync"), "{}", superseded.en);
        // Neither date's word sends the driver to sync, nor calls the licence suspended.
        for status in [OwnStatus::LicenceExpired, OwnStatus::LicenceNotYetValid] {
            let words = own_status(status);
            for not_said in ["同步", "暂停"] {
                assert!(!words.zh.contains(not_said), "{}", words.zh);
            }
            assert!(!words.en.contains("sync") && !words.en.contains("Suspended"));
        }
        let not_yet = own_status(OwnStatus::LicenceNotYetValid);
        assert!(not_yet.zh.contains("尚未开始"), "{}", not_yet.zh);
        assert!(not_yet.en.contains("not valid yet"), "{}", not_yet.en);
    }

    #[test]
    fn status_words_tell_unknown_from_in_force() {
        assert!(
            status_check(StatusCheck::Unknown)
                .en
                .contains("check online")
        );
        assert_ne!(
            own_status(OwnStatus::InForce),
            own_status(OwnStatus::Unknown)
        );
    }
}
