//! The texts pushed to a driver's message feed, in one place: what a driver reads after
//! each change of their licence or e-licence. Each function takes the time of the event
//! and the few facts the text states; none takes a personal datum.

use edl_core::licence::{LicenceStatus, NotEligible};
use edl_core::wire::{FeedMessage, MessageKind};

/// A feed message.
pub fn message(kind: MessageKind, at: u64, title: &str, body: &str) -> FeedMessage {
    FeedMessage {
        kind,
        at,
        title: title.to_owned(),
        body: body.to_owned(),
    }
}

/// The e-licence was issued, after an application in the app or at a counter.
pub fn application_succeeded(at: u64, at_counter: bool) -> FeedMessage {
    let body = if at_counter {
        "您在车管所窗口申领的电子驾驶证已发放到本账户。"
    } else {
        "您的电子驾驶证申领成功，可在“电子驾驶证”中查看和出示。"
    };
    message(
        MessageKind::ApplicationSucceeded,
        at,
        "电子驾驶证申领成功",
        body,
    )
}

/// The photo was approved but the licence may not have an e-licence, for `reason`.
pub fn application_refused(at: u64, reason: NotEligible) -> FeedMessage {
    message(
        MessageKind::StatusChanged,
        at,
        "电子驾驶证申领未通过",
        reason.reason_zh(),
    )
}

/// A violation with `points` was recorded; the cycle now holds `total`.
pub fn violation_recorded(at: u64, points: u8, total: u8) -> FeedMessage {
    message(
        MessageKind::ViolationRecorded,
        at,
        "交通违法记分",
        &format!("新增交通违法记录，记{points}分；本记分周期累计{total}分。"),
    )
}

/// The registry set the licence's status letters to `status`.
pub fn status_changed(at: u64, status: LicenceStatus) -> FeedMessage {
    message(
        MessageKind::StatusChanged,
        at,
        "驾驶证状态变更",
        &format!("驾驶证状态变更为：{}。", status.label_zh()),
    )
}

/// The licence was renewed; the e-licence must be applied for again.
pub fn licence_renewed(at: u64) -> FeedMessage {
    message(
        MessageKind::LicenceRenewed,
        at,
        "驾驶证已换证",
        "您的驾驶证信息已变更，原电子驾驶证已失效，请重新申领。",
    )
}

/// A new photo replaced the one on the issued e-licence.
pub fn photo_changed(at: u64) -> FeedMessage {
    message(
        MessageKind::PhotoChanged,
        at,
        "照片更换成功",
        "您的电子驾驶证照片已更新。",
    )
}

/// A reviewer rejected the photo, for the reviewer's `reason`.
pub fn photo_rejected(at: u64, reason: &str) -> FeedMessage {
    message(
        MessageKind::PhotoRejected,
        at,
        "照片审核未通过",
        &format!("原因：{reason}"),
    )
}

/// A malicious photo stopped the e-licence.
pub fn elicence_stopped_for_malicious_photo(at: u64) -> FeedMessage {
    message(
        MessageKind::ElicenceStopped,
        at,
        "电子驾驶证已停止使用",
        "因上传恶意照片，电子驾驶证已停止使用，请到车管所窗口办理。",
    )
}

/// The account was enrolled on a new device.
pub fn device_enrolled(at: u64) -> FeedMessage {
    message(
        MessageKind::DeviceEnrolled,
        at,
        "新设备登录",
        "您的账户已在新设备上启用。",
    )
}
