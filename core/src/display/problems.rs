//! What to tell the driver after a refusal or a failed call. No text holds personal data.

use super::Bilingual;
use crate::licence::NotEligible;

/// Why the authority refused a wallet request, when the driver can act on it (the
/// bindings' `RefusalReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The activation code is wrong, used or expired.
    ActivationCodeInvalid,
    /// The real-person check is needed first.
    IdentityCheckRequired,
    /// The real-person check failed.
    IdentityCheckFailed,
    /// The e-licence was stopped.
    ElicenceStopped,
    /// The e-licence was replaced.
    ElicenceSuperseded,
    /// The request does not fit the application's state.
    InvalidState,
}

/// What went wrong in a wallet call, as far as the driver is told (the bindings map each
/// `EdlError` onto one of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// The licence may not have an e-licence.
    NotEligible(NotEligible),
    /// The authority refused the request.
    Refused(Refusal),
    /// The authority cannot be reached.
    Offline,
    /// The authority's certificate is not trusted.
    UntrustedAuthority,
    /// The authority is busy; `retry_after_secs` is 0 when it did not say how long.
    Busy {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The authority no longer accepts this phone.
    Unauthorised,
    /// The wallet is not enrolled.
    NotEnrolled,
    /// The wallet holds no e-licence.
    NoElicence,
    /// The photo fails the checks.
    PhotoNotAccepted,
    /// Something read from outside is not in the expected format.
    Malformed,
    /// The phone has no space left.
    StorageFull,
    /// The wallet's store cannot be opened again (damaged, or its key gone for good).
    WalletUnreadable,
    /// The phone's key store cannot be used now (locked, or asking the user to sign in):
    /// nothing is lost, the same call works once the phone is unlocked.
    KeyLocked,
    /// The key given does not open the wallet (a mistyped passphrase, another phone's
    /// key): nothing was changed.
    WrongKey,
    /// The wallet's store was written by a newer version of the app.
    AppOutdated,
    /// Another part of the app (a widget, an extension) or a backup holds the wallet.
    StoreBusy,
    /// The phone's storage cannot be used now (locked, or not writable).
    StorageUnavailable,
    /// Anything else: a server fault, a programming error, an internal fault.
    Other,
}

/// What the driver can do about an authority's refusal.
pub fn refusal(reason: Refusal) -> Bilingual {
    use Refusal::*;
    let (zh, en) = match reason {
        ActivationCodeInvalid => (
            "激活码错误、已使用或已过期，请重新输入或到车管所领取",
            "The activation code is wrong, used or expired",
        ),
        IdentityCheckRequired => ("请先完成实人认证", "The real-person check is needed first"),
        IdentityCheckFailed => (
            "实人认证未通过，请重试",
            "The real-person check failed: try again",
        ),
        ElicenceStopped => (
            "电子驾驶证已停止使用，请到车管所办理",
            "The e-licence was stopped: see the vehicle office",
        ),
        ElicenceSuperseded => (
            "电子驾驶证已更新，请刷新后重新申领",
            "The e-licence was replaced: refresh and apply again",
        ),
        InvalidState => ("申领状态已变化，请刷新", "The application changed: refresh"),
    };
    Bilingual::new(zh, en)
}

/// What to tell the driver after a failed wallet call.
pub fn problem(problem: Problem) -> Bilingual {
    use Problem::*;
    let (zh, en) = match problem {
        NotEligible(reason) => return Bilingual::new(reason.reason_zh(), reason.reason_en()),
        Refused(reason) => return refusal(reason),
        // An authority that did not say how long: no "0 s" for the driver.
        Busy {
            retry_after_secs: 0,
        } => ("服务繁忙，请稍后再试", "Busy: try again later"),
        Busy { retry_after_secs } => {
            return Bilingual::new(
                format!("服务繁忙，请 {retry_after_secs} 秒后再试"),
                format!("Busy: try again in {retry_after_secs} s"),
            );
        }
        Offline => (
            "无法连接交管服务，已保存的内容仍可使用",
            "Offline: what is stored still works",
        ),
        UntrustedAuthority => (
            "连接不安全，请换一个网络再试",
            "The connection is not secure: try another network",
        ),
        Unauthorised => (
            "本机已不能使用电子驾驶证，请重新绑定",
            "This phone is no longer accepted: enrol again",
        ),
        NotEnrolled => ("请先绑定驾驶证", "Enrol first"),
        NoElicence => ("尚未领取电子驾驶证", "No e-licence yet"),
        PhotoNotAccepted => ("照片不符合要求", "The photo does not meet the rules"),
        Malformed => ("内容无法识别", "This could not be read"),
        StorageFull => ("手机存储空间不足", "The phone is out of storage"),
        WalletUnreadable => (
            "本机数据无法打开，请重新绑定",
            "The wallet cannot be opened: enrol again",
        ),
        KeyLocked => ("请解锁手机后重试", "Unlock the phone and try again"),
        WrongKey => (
            "密钥或口令不正确，未作任何更改",
            "The key or passphrase is wrong: nothing was changed",
        ),
        StoreBusy => (
            "电子驾驶证正被其他程序使用，请稍后再试",
            "The wallet is in use by another part of the app: try again in a moment",
        ),
        StorageUnavailable => (
            "暂时无法读写手机存储，请解锁手机后重试",
            "The phone's storage cannot be used now: unlock the phone and try again",
        ),
        AppOutdated => (
            "本机数据由更新版本的应用保存，请更新应用",
            "The wallet was saved by a newer version of the app: update the app",
        ),
        Other => (
            "出现问题，请稍后再试",
            "Something went wrong: try again later",
        ),
    };
    Bilingual::new(zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_says_how_long_when_the_authority_said_it() {
        let text = problem(Problem::Busy {
            retry_after_secs: 30,
        });
        assert_eq!(text.zh, "服务繁忙，请 30 秒后再试");
        assert_eq!(text.en, "Busy: try again in 30 s");
        let unknown = problem(Problem::Busy {
            retry_after_secs: 0,
        });
        assert!(
            !unknown.zh.contains('0') && !unknown.en.contains('0'),
            "{unknown:?}"
        );
    }

    #[test]
    fn a_licence_not_in_force_is_explained_with_the_licence_rules_text() {
        let text = problem(Problem::NotEligible(NotEligible::OverPoints));
        assert_eq!(text.zh, NotEligible::OverPoints.reason_zh());
        assert_eq!(text.en, NotEligible::OverPoints.reason_en());
    }

    #[test]
    fn a_refusal_is_told_with_what_to_do() {
        assert_eq!(
            problem(Problem::Refused(Refusal::ActivationCodeInvalid)),
            refusal(Refusal::ActivationCodeInvalid)
        );
        assert!(refusal(Refusal::ElicenceStopped).zh.contains("车管所"));
        assert!(
            refusal(Refusal::IdentityCheckFailed)
                .en
                .contains("try again")
        );
    }

    #[test]
    fn offline_tells_the_driver_the_stored_licence_still_works() {
        let text = problem(Problem::Offline);
        assert!(text.zh.contains("仍可使用") && text.en.contains("still works"));
    }
}
