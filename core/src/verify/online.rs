//! Online requests: the QR, barcode or manual code parsed into a typed check, and the
//! code check the authority runs against the e-licence's seed.

use crate::codec::DecodeError;
use crate::credential::{Audience, ElicenceId};
use crate::crypto::{CodeKind, TotpSeed};
use crate::licence::check_licence_number;
use crate::present::{
    BARCODE_DIGITS, MANUAL_CODE_DIGITS, MANUAL_PERIOD, MAX_PERIOD, MIN_PERIOD, OnlinePayload,
    PayloadError, Window, audience_from_digit,
};

/// What a verifier asks the authority to check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OnlineCheck {
    /// From the online QR or the barcode: e-licence id and 8-digit code.
    Code {
        /// Whom the driver chose to show.
        audience: Audience,
        /// Rotation period of the code.
        period: u32,
        /// Which e-licence.
        id: ElicenceId,
        /// 8 digits.
        code: String,
    },
    /// Typed by a person: licence number and the 7-digit manual code.
    Manual {
        /// The full licence number the driver gave.
        licence_number: String,
        /// From the code's first digit.
        audience: Audience,
        /// The 6 TOTP digits.
        code: String,
    },
}

impl OnlineCheck {
    /// From the bytes of an online QR.
    pub fn from_qr(payload: &[u8]) -> Result<Self, PayloadError> {
        let p = OnlinePayload::decode(payload)?;
        Ok(OnlineCheck::Code {
            audience: p.audience,
            period: p.period,
            id: p.id,
            code: p.code_digits(),
        })
    }

    /// From the text read off the barcode (32 digits).
    pub fn from_barcode(text: &str) -> Result<Self, PayloadError> {
        let text = text.trim();
        if text.len() != BARCODE_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::BadValue("barcode").into());
        }
        let audience = text
            .chars()
            .next()
            .and_then(audience_from_digit)
            .ok_or(PayloadError::BadHeader)?;
        let period: u32 = text[1..4]
            .parse()
            .map_err(|_| DecodeError::BadValue("period"))?;
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
            return Err(PayloadError::BadPeriod);
        }
        let id = ElicenceId(
            text[4..24]
                .parse()
                .map_err(|_| DecodeError::BadValue("id"))?,
        );
        Ok(OnlineCheck::Code {
            audience,
            period,
            id,
            code: text[24..].to_owned(),
        })
    }

    /// From a licence number and a manual code a person typed (spaces allowed).
    pub fn from_manual(licence_number: &str, code: &str) -> Result<Self, PayloadError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != MANUAL_CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::BadValue("manual_code").into());
        }
        // Read as licence numbers are written (a lower-case x as typed is the registry's X);
        // any other text is refused here, before it is sent or counted as a wrong code.
        let licence_number = licence_number.trim().to_ascii_uppercase();
        if check_licence_number(&licence_number).is_err() {
            return Err(DecodeError::BadValue("licence_number").into());
        }
        let audience = code
            .chars()
            .next()
            .and_then(audience_from_digit)
            .ok_or(PayloadError::BadHeader)?;
        Ok(OnlineCheck::Manual {
            licence_number,
            audience,
            code: code[1..].to_owned(),
        })
    }

    /// What its code is checked by: the kind of code, its period, its audience and its
    /// digits.
    fn code_parts(&self) -> (CodeKind, u32, Audience, &str) {
        match self {
            OnlineCheck::Code {
                audience,
                period,
                code,
                ..
            } => (CodeKind::Qr, *period, *audience, code),
            OnlineCheck::Manual { audience, code, .. } => {
                (CodeKind::Manual, MANUAL_PERIOD, *audience, code)
            }
        }
    }

    /// The audience the driver chose.
    pub fn audience(&self) -> Audience {
        match self {
            OnlineCheck::Code { audience, .. } | OnlineCheck::Manual { audience, .. } => *audience,
        }
    }
}

/// Seconds before a window ends during which the authority already accepts the next
/// window's code: a phone whose clock runs up to this much fast still verifies at the
/// edge (D77). The same tolerance the offline verifier grants by default
/// ([`super::DEFAULT_SKEW`]), and far below the shortest period, so a code is never
/// accepted more than a few seconds before its window.
pub const FAST_CLOCK_SKEW: u32 = super::DEFAULT_SKEW;

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRejection {
    /// Not the code of the current or the previous window.
    #[error("wrong or expired code")]
    WrongCode,
}

/// Checks the code of `check` against the e-licence's seed at `now`: the current window
/// and the one before it (a code read just before it rotated) are accepted, nothing
/// older; during the last [`FAST_CLOCK_SKEW`] seconds of the current window, the next
/// one too (a phone whose clock runs a little fast). Returns the window that matched, so
/// the caller spends the code under the window it belongs to.
pub fn check_code(seed: &TotpSeed, check: &OnlineCheck, now: u64) -> Result<Window, CodeRejection> {
    let (kind, period, audience, code) = check.code_parts();
    let current = Window::at(now, period);
    let windows = [
        current.index,
        current.index.saturating_sub(1),
        current.index + 1,
    ];
    let near_the_edge = now + u64::from(FAST_CLOCK_SKEW) >= current.ends_at();
    let tried = if near_the_edge { 3 } else { 2 };
    seed.check(kind, audience.code(), period, &windows[..tried], code)
        .map(|index| Window { period, index })
        .ok_or(CodeRejection::WrongCode)
}

/// The window of a code [`check_code`] no longer accepts at `now`, if it is one that could
/// have been accepted at `since` or later: what the authority asks before it calls a
/// resend a wrong code, because a code it accepted (spent) up to the end of its acceptance
/// may come back from its verifier later, its answer lost (D186). Only windows past their
/// acceptance are tried (the current one and the one before are [`check_code`]'s), back
/// to the earliest whose acceptance had not ended at `since`, at most
/// `MAX_PAST_WINDOWS` of them.
///
/// A match is not an acceptance: the caller answers it only as the repeat of a spend by
/// the same verifier that the database records; anything else stays a wrong code.
pub fn past_window(seed: &TotpSeed, check: &OnlineCheck, now: u64, since: u64) -> Option<Window> {
    let (kind, period, audience, code) = check.code_parts();
    let current = Window::at(now, period).index;
    // A code of window `w` is accepted while the clock is in `w` or `w + 1`, so until the
    // start of `w + 2`: `w` could still be spent at `since` if `w + 2` starts after it.
    let earliest = Window::at(since, period).index.saturating_sub(1);
    let windows: Vec<u64> = (earliest..current.saturating_sub(1))
        .rev()
        .take(MAX_PAST_WINDOWS)
        .collect();
    seed.check(kind, audience.code(), period, &windows, code)
        .map(|index| Window { period, index })
}

/// The most windows [`past_window`] tries: a minute back at the shortest period, so a
/// wrong code costs a bounded number of HMACs whatever `since` a caller passes.
const MAX_PAST_WINDOWS: usize = 8;
