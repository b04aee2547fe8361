//! Offline verification: a scanned payload and the trust list, nothing else.

use crate::credential::{
    Audience, CredentialError, DisclosedView, ElicenceStatus, StatusAnswer, StatusList,
};
use crate::crypto::{self, Purpose};
use crate::licence::{NotEligible, e_licence_eligibility};
use crate::present::{OfflinePayload, PayloadError, Window, presentation_message};

use super::{Policy, StaleStatus, china_date};
use crate::credential::TrustList;

/// Why an offline payload was refused. Each variant is a reason a verifier's screen can
/// show; none carries personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a well-formed offline payload.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// Signed by a key the trust list does not hold (or not for that date).
    #[error("unknown issuer key")]
    UnknownIssuerKey,
    /// Signed by a known key but dated outside its period: a retired key's work after
    /// its retirement (or a key used before its start).
    #[error("issued outside its issuer key's period")]
    IssuedOutsideKeyPeriod,
    /// The view declares a lifetime above the protocol's cap.
    #[error("declared lifetime {declared_hours} h exceeds the {max_hours} h cap")]
    LifetimeTooLong {
        /// What the view declares.
        declared_hours: u16,
        /// [`crate::credential::MAX_VIEW_LIFETIME_HOURS`].
        max_hours: u16,
    },
    /// The issuer signature does not verify: the view was forged or altered.
    #[error("issuer signature does not verify")]
    BadIssuerSignature,
    /// The device signature does not verify: not presented by the bound phone, or altered.
    #[error("device signature does not verify")]
    BadDeviceSignature,
    /// The payload's time window has passed (a screenshot or a replay).
    #[error("time window expired")]
    WindowExpired,
    /// The payload's window has not started by the verifier's clock.
    #[error("time window not yet valid")]
    WindowNotYetValid,
    /// The payload is for another audience than this verifier's.
    #[error("presented for {presented}, this verifier is {expected}")]
    WrongAudience {
        /// What the driver chose.
        presented: Audience,
        /// What the verifier is.
        expected: Audience,
    },
    /// The credential's own lifetime has ended; the wallet must sync.
    #[error("credential expired")]
    CredentialExpired,
    /// The credential claims an issue time in the future.
    #[error("credential not yet valid")]
    CredentialNotYetValid,
    /// The licence's validity period has not started (its `valid_from` is a later
    /// Beijing date than today).
    #[error("licence not yet valid")]
    LicenceNotYetValid,
    /// The licence, as of the credential's status, is not in force.
    #[error("licence not in force: {0}")]
    LicenceNotInForce(NotEligible),
    /// A fresh signed status list says the e-licence is suspended (after the credential
    /// was signed): it may come back into force, but not now.
    #[error("e-licence suspended (status list)")]
    ElicenceSuspended,
    /// A fresh signed status list says the e-licence was revoked, cancelled or replaced
    /// (renewal, new phone, counter issue): this credential never verifies again.
    #[error("e-licence no longer in force (status list)")]
    ElicenceSuperseded,
    /// The status list held is older than its time-to-live (or does not cover this
    /// e-licence) and the verifier's policy refuses rather than accepts on an unknown
    /// status: check online.
    #[error("status unknown: check online")]
    StatusUnknown,
}

impl From<PayloadError> for Rejection {
    fn from(e: PayloadError) -> Self {
        Rejection::Malformed(e.to_string())
    }
}

impl From<CredentialError> for Rejection {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::UnknownIssuerKey => Rejection::UnknownIssuerKey,
            CredentialError::BadIssuerSignature => Rejection::BadIssuerSignature,
            CredentialError::IssuedOutsideKeyPeriod => Rejection::IssuedOutsideKeyPeriod,
            CredentialError::LifetimeTooLong {
                declared_hours,
                max_hours,
            } => Rejection::LifetimeTooLong {
                declared_hours,
                max_hours,
            },
            other => Rejection::Malformed(other.to_string()),
        }
    }
}

/// What the status list said about an accepted presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCheck {
    /// No status list was given ([`verify_offline`], a fixed trust list's verifier): only
    /// the status signed into the credential was checked. A verifier that holds lists
    /// ([`crate::verify::OfflineTrust`]) answers [`StatusCheck::Unknown`] with none held.
    NotChecked,
    /// A fresh signed status list holds the e-licence in force.
    InForce,
    /// The signatures hold but the status list is stale (or does not cover this
    /// e-licence), and the policy accepts such a presentation: the screen must say
    /// "status unknown: check online".
    Unknown,
}

/// An accepted offline presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// What the verifier may see.
    pub view: DisclosedView,
    /// The window it was presented in.
    pub window: Window,
    /// What the status list said.
    pub status: StatusCheck,
}

/// Verifies an offline payload at unix time `now`, in this order: layout, audience, time
/// window, issuer key and signature (against `trust`), the key's period, the lifetime
/// cap, device signature, credential lifetime, licence validity dates and status. No
/// status list is consulted: see [`verify_offline_with_status`].
pub fn verify_offline(
    payload: &[u8],
    trust: &TrustList,
    now: u64,
    policy: &Policy,
) -> Result<Verified, Rejection> {
    verify_offline_with_status(payload, trust, None, now, policy)
}

/// [`verify_offline`], then the e-licence's entry in `status` (a list already checked
/// with [`StatusList::verify`] against the same trust list): a fresh list refuses a
/// suspended or superseded e-licence; a stale one (at or past `issued_at + ttl_secs`),
/// or one that does not cover the e-licence's index, gives an unknown status that
/// `policy` accepts ([`StatusCheck::Unknown`]) or refuses ([`Rejection::StatusUnknown`]).
/// The status is judged last, so it is only ever said of a presentation whose
/// signatures hold.
pub fn verify_offline_with_status(
    payload: &[u8],
    trust: &TrustList,
    status: Option<&StatusList>,
    now: u64,
    policy: &Policy,
) -> Result<Verified, Rejection> {
    let _span = tracing::debug_span!("verify", mode = "offline").entered();
    let p = OfflinePayload::decode(payload)?;
    let audience = p.view.audience();
    if audience != policy.audience {
        return Err(Rejection::WrongAudience {
            presented: audience,
            expected: policy.audience,
        });
    }
    let window = Window::nearest_with_low_byte(now, p.period, p.window_low);
    if !window.accepts(now, policy.skew()) {
        return Err(if window.starts_at() > now {
            Rejection::WindowNotYetValid
        } else {
            Rejection::WindowExpired
        });
    }
    let view = p.view.verify(trust)?;
    let header = view.header();
    let message = presentation_message(audience, window, &p.view);
    crypto::verify(
        &header.device_key,
        Purpose::Presentation,
        &message,
        &p.device_sig,
    )
    .map_err(|_| Rejection::BadDeviceSignature)?;
    credential_standing(&view, now, policy.skew())?;
    let status = match status {
        None => StatusCheck::NotChecked,
        Some(list) => check_status(list, header.status_index, now, policy)?,
    };
    Ok(Verified {
        view,
        window,
        status,
    })
}

/// What an offline check refuses a verified credential for on its own, whoever presents it:
/// its lifetime over, its issue time ahead of `now` by more than `skew`, the licence's
/// validity not begun or ended on the Beijing date at `now`, or status letters that take
/// it out of force. The scanner applies it to every presentation, and the wallet to its own
/// credential (`OfflineTrust::own_status`, D152), so the two cannot disagree.
pub(crate) fn credential_standing(
    view: &DisclosedView,
    now: u64,
    skew: u32,
) -> Result<(), Rejection> {
    let header = view.header();
    if now >= header.expires_at() {
        return Err(Rejection::CredentialExpired);
    }
    if u64::from(header.issued_at) > now.saturating_add(u64::from(skew)) {
        return Err(Rejection::CredentialNotYetValid);
    }
    let today = china_date(now);
    if today < view.valid_from() {
        return Err(Rejection::LicenceNotYetValid);
    }
    e_licence_eligibility(view.status(), view.valid_until(), today)
        .map_err(Rejection::LicenceNotInForce)
}

/// The status list's word on `index` at `now`, as the policy reads it.
fn check_status(
    list: &StatusList,
    index: u32,
    now: u64,
    policy: &Policy,
) -> Result<StatusCheck, Rejection> {
    // An index the list does not cover is an e-licence newer than the list: unknown.
    match list.status_at(index, now).unwrap_or(StatusAnswer::Unknown) {
        StatusAnswer::Known(ElicenceStatus::InForce) => Ok(StatusCheck::InForce),
        StatusAnswer::Known(ElicenceStatus::Suspended) => Err(Rejection::ElicenceSuspended),
        StatusAnswer::Known(ElicenceStatus::Superseded) => Err(Rejection::ElicenceSuperseded),
        StatusAnswer::Unknown => status_unknown(policy),
    }
}

/// What the policy makes of a status nobody can vouch for (a stale list, an index it does
/// not cover, or no list where one is expected): "status unknown", or a refusal.
pub(crate) fn status_unknown(policy: &Policy) -> Result<StatusCheck, Rejection> {
    match policy.stale_status {
        StaleStatus::Accept => Ok(StatusCheck::Unknown),
        StaleStatus::Refuse => Err(Rejection::StatusUnknown),
    }
}
