//! What an offline verifier or a wallet holds to check presentations: the pinned root, the
//! newest root-signed trust list it accepted, and the newest signed status list (D93).
//!
//! [`OfflineTrust`] is the one place that decides whether a list offered (fetched from the
//! authority, copied from a file) replaces the held one, and what a presentation's status
//! is with the lists held. The bindings, the CLI and the apps only hand it bytes and a
//! clock, so every platform refuses the same lists for the same reasons.

use super::offline::credential_standing;
use super::offline::status_unknown;
use super::{DEFAULT_SKEW, Policy, Rejection, Verified, verify_offline_with_status};
use crate::credential::{
    Credential, DisclosedView, ElicenceStatus, StatusAnswer, StatusList, StatusListError,
    TrustAnchor, TrustList, TrustListContents, TrustListRejection,
};
use crate::crypto::PublicKey;

/// Why a status list was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListRefusal {
    /// No valid trust list is held to check its signer against: load the trust list first.
    #[error("no valid trust list to check the status list: {0}")]
    NoTrustList(TrustListRejection),
    /// Malformed, signed by a key the trust list does not hold, or a wrong signature.
    #[error(transparent)]
    List(#[from] StatusListError),
    /// Issued later than the verifier's clock (beyond the skew): a clock is wrong.
    #[error("the status list is not yet valid")]
    NotYetValid,
    /// Fetched live from the authority, but made more than [`LIVE_STATUS_MAX_AGE`] (and
    /// the clock skew) before: kept or replayed on the way, or a clock is wrong.
    #[error("the status list was made {age} s before it was fetched")]
    NotLive {
        /// Seconds from its making to the fetch, by the verifier's clock.
        age: u64,
    },
    /// Issued before the list already held: an old list replayed.
    #[error("status list of {offered} is older than the held list of {held}")]
    RolledBack {
        /// `issued_at` of the held list.
        held: u32,
        /// `issued_at` of the offered list.
        offered: u32,
    },
}

/// The oldest a status list fetched from the authority may be, in seconds. The authority
/// signs one when asked and lets caches keep it a minute, so a list made much earlier,
/// though still within its time-to-live, was kept or replayed by whatever answered: it
/// could show a licence suspended since as in force (the CLI review's D-F4; for every
/// platform since the twenty-sixth review's AG-F2).
pub const LIVE_STATUS_MAX_AGE: u64 = 300;

/// The allowance for a list's date ahead of the verifier's clock when the list was fetched
/// live (or is read back after it was): `skew` plus [`LIVE_STATUS_MAX_AGE`] (D203).
pub fn live_skew(skew: u32) -> u32 {
    skew.saturating_add(u32::try_from(LIVE_STATUS_MAX_AGE).unwrap_or(u32::MAX))
}

/// Refuses a status list issued at `issued_at` (the authority's clock) and fetched live
/// at `now` (the verifier's) more than [`LIVE_STATUS_MAX_AGE`] plus `skew` before.
pub fn check_live_status(issued_at: u32, now: u64, skew: u32) -> Result<(), StatusListRefusal> {
    let age = now.saturating_sub(u64::from(issued_at));
    if age > LIVE_STATUS_MAX_AGE + u64::from(skew) {
        return Err(StatusListRefusal::NotLive { age });
    }
    Ok(())
}

/// Why a presentation could not be checked, or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchoredRejection {
    /// No valid trust list is held (none loaded, or the held one expired): refresh it.
    #[error("trust list: {0}")]
    TrustList(TrustListRejection),
    /// The presentation itself was refused.
    #[error(transparent)]
    Rejected(#[from] Rejection),
}

/// What the lists held say about one e-licence, for the wallet's own screen: whether a
/// police scanner holding the same lists would accept it offline and, when it would not,
/// the reason the driver can act on (D152, D154).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnStatus {
    /// A fresh status list holds the e-licence in force, and the credential is within its
    /// lifetime and the licence within its validity, with no status letter that takes it
    /// out of force.
    InForce,
    /// Verifiers refuse it offline, for now: a fresh status list says suspended, or a
    /// status letter signed into the credential takes the licence out of force without
    /// ending it (e.g. D, K, M, Z), as the status list says of the same letters (D152).
    Suspended,
    /// Verifiers refuse it offline and always will; sync. Either a fresh status list says
    /// revoked or replaced, or the credential itself is out of force: its lifetime has
    /// ended (a sync brings a fresh one), or a status letter signed into it ends the
    /// licence or moves its file (E, F, G, C) (D152).
    Superseded,
    /// Verifiers refuse it offline because the licence itself is past its validity (the
    /// Beijing date is after `valid_until`) and no status letter says more: only renewing
    /// the licence (换证) helps, and a sync changes nothing (D154).
    LicenceExpired,
    /// Verifiers refuse it offline for now because the licence's validity begins on a
    /// later day (`valid_from`, Beijing date) and no status letter says more: nothing to
    /// do, verifiers take it from that day (D154).
    LicenceNotYetValid,
    /// The status list held is stale or does not cover the e-licence: verifiers may check
    /// online.
    Unknown,
    /// No valid status list or trust list is held, or the credential does not verify under
    /// the trust list held (or claims an issue time ahead of the clock): refresh the lists.
    NotChecked,
}

impl OwnStatus {
    /// Every status, in declaration order (for tests and exhaustive screens).
    pub const ALL: [OwnStatus; 7] = [
        OwnStatus::InForce,
        OwnStatus::Suspended,
        OwnStatus::Superseded,
        OwnStatus::LicenceExpired,
        OwnStatus::LicenceNotYetValid,
        OwnStatus::Unknown,
        OwnStatus::NotChecked,
    ];
}

/// A summary of the trust list held, for a settings screen or a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustListSummary {
    /// Its sequence number (never goes down).
    pub sequence: u32,
    /// When it was issued (unix seconds).
    pub issued_at: u32,
    /// When it stops being accepted (unix seconds).
    pub expires_at: u32,
    /// How many issuer keys it holds.
    pub keys: u32,
}

impl From<&TrustListContents> for TrustListSummary {
    fn from(c: &TrustListContents) -> Self {
        TrustListSummary {
            sequence: c.sequence,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            keys: c.keys.keys().len() as u32,
        }
    }
}

/// A summary of the status list held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusListSummary {
    /// When it was issued (unix seconds).
    pub issued_at: u32,
    /// From when it is stale: `issued_at + ttl` (unix seconds).
    pub stale_at: u64,
    /// How many e-licence indices it covers.
    pub entries: u32,
}

impl From<&StatusList> for StatusListSummary {
    fn from(l: &StatusList) -> Self {
        StatusListSummary {
            issued_at: l.issued_at,
            stale_at: u64::from(l.issued_at) + u64::from(l.ttl_secs),
            entries: l.len(),
        }
    }
}

/// The pinned root, the newest trust list accepted under it and the newest status list
/// accepted under that trust list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineTrust {
    anchor: TrustAnchor,
    status: Option<StatusList>,
}

impl OfflineTrust {
    /// Trusts lists signed by `root` (or by a next root it announces), holding none yet.
    pub fn pinned(root: PublicKey) -> Self {
        OfflineTrust {
            anchor: TrustAnchor::pinned(root),
            status: None,
        }
    }

    /// The root now pinned (the announced next root once a list signed by it was taken).
    pub fn root(&self) -> PublicKey {
        self.anchor.root()
    }

    /// Takes a root-signed trust list if it is signed by the pinned root, valid at `now`
    /// and not older than the one held (see [`TrustAnchor::accept`]); the held lists are
    /// unchanged when it is refused.
    pub fn load_trust_list(
        &mut self,
        bytes: &[u8],
        now: u64,
        skew: u32,
    ) -> Result<TrustListSummary, TrustListRejection> {
        let trust = self.anchor.accept(bytes, now, skew)?;
        // The held status list is judged again under the keys now trusted: one signed by
        // a key retired since lives no longer than a list of it checked now would (AK-F3).
        if let Some(status) = &mut self.status {
            status.cut_lifetime(trust);
        }
        self.trust_list_summary().ok_or(TrustListRejection::NoList)
    }

    /// [`OfflineTrust::load_trust_list`] for a list fetched from the authority just now,
    /// which may be dated up to [`LIVE_STATUS_MAX_AGE`] after `now` (the verifier's clock
    /// slow: the hourly list is dated on the hour, so a scanner minutes slow refused every
    /// refresh in an hour's first minutes, and the status list with it; AL-F2), as a status
    /// list fetched with it may (D203).
    pub fn load_fetched_trust_list(
        &mut self,
        bytes: &[u8],
        now: u64,
        skew: u32,
    ) -> Result<TrustListSummary, TrustListRejection> {
        self.load_trust_list(bytes, now, live_skew(skew))
    }

    /// Takes a signed status list if its signer is in the trust list held (valid at
    /// `now`), it is not issued in the future and not before the status list held. A
    /// stale list is taken (it is the newest known; it answers "status unknown").
    pub fn load_status_list(
        &mut self,
        bytes: &[u8],
        now: u64,
        skew: u32,
    ) -> Result<StatusListSummary, StatusListRefusal> {
        self.take_status_list(bytes, now, skew, false)
    }

    /// [`OfflineTrust::load_status_list`] for a list fetched from the authority just now:
    /// one made more than [`LIVE_STATUS_MAX_AGE`] before is refused too
    /// ([`check_live_status`]), as every platform's refresh does (AG-F2), and one made up
    /// to that long after `now` is taken (the verifier's clock is slow: AK-F1). A list
    /// copied from a file or another channel, whose age says nothing, goes through
    /// `load_status_list`.
    pub fn load_fetched_status_list(
        &mut self,
        bytes: &[u8],
        now: u64,
        skew: u32,
    ) -> Result<StatusListSummary, StatusListRefusal> {
        self.take_status_list(bytes, now, skew, true)
    }

    fn take_status_list(
        &mut self,
        bytes: &[u8],
        now: u64,
        skew: u32,
        fetched_live: bool,
    ) -> Result<StatusListSummary, StatusListRefusal> {
        let trust = self
            .anchor
            .trust_list(now)
            .map_err(StatusListRefusal::NoTrustList)?;
        let list = StatusList::verify(bytes, trust)?;
        // A list fetched live was signed as it was asked for, by the authority's clock: it
        // may be ahead of a slow verifier's clock by as much as it may be behind (AK-F1: a
        // scanner 6 s slow refused every live list and read every status as unknown).
        let ahead = if fetched_live {
            check_live_status(list.issued_at, now, skew)?;
            u64::from(live_skew(skew))
        } else {
            u64::from(skew)
        };
        if u64::from(list.issued_at) > now.saturating_add(ahead) {
            return Err(StatusListRefusal::NotYetValid);
        }
        // One of the held list's second with other contents is taken: the authority signs
        // a list when asked, so a status change and a refresh within one second give two
        // lists of that second, and refusing the second one kept the first, older status
        // until a later list (twenty-sixth review, AG-F7: left as it is, D198).
        if let Some(held) = &self.status
            && list.issued_at < held.issued_at
        {
            return Err(StatusListRefusal::RolledBack {
                held: held.issued_at,
                offered: list.issued_at,
            });
        }
        let summary = StatusListSummary::from(&list);
        self.status = Some(list);
        Ok(summary)
    }

    /// The trust list held, if any (expired or not).
    pub fn trust_list_summary(&self) -> Option<TrustListSummary> {
        self.anchor.held().map(TrustListSummary::from)
    }

    /// The status list held, if any (stale or not).
    pub fn status_list_summary(&self) -> Option<StatusListSummary> {
        self.status.as_ref().map(StatusListSummary::from)
    }

    /// The issuer keys of the held trust list, if it is valid at `now`.
    pub fn trust_list(&self, now: u64) -> Result<&TrustList, TrustListRejection> {
        self.anchor.trust_list(now)
    }

    /// Verifies an offline payload with the held lists: the trust list must be valid at
    /// `now`; the status list is read as [`verify_offline_with_status`] does (stale → the
    /// policy's choice). With none held the status is unknown, as with a stale one: a
    /// verifier that holds lists is one that checks status, and a status list refused at
    /// load (junk from a proxy, a clock minutes slow) must not leave a scanner that
    /// refuses unknown statuses accepting every presentation (twenty-sixth review, AG-F4).
    pub fn verify(
        &self,
        payload: &[u8],
        now: u64,
        policy: &Policy,
    ) -> Result<Verified, AnchoredRejection> {
        let trust = self
            .anchor
            .trust_list(now)
            .map_err(AnchoredRejection::TrustList)?;
        let verified =
            verify_offline_with_status(payload, trust, self.status.as_ref(), now, policy)?;
        if self.status.is_some() {
            return Ok(verified);
        }
        Ok(Verified {
            status: status_unknown(policy)?,
            ..verified
        })
    }

    /// What the held lists say about a wallet's own credential at `now`, as a police
    /// scanner holding the same lists would answer offline: the credential must verify
    /// under the held trust list (so a list the wallet was fed for another root, or a
    /// forged credential, says nothing); then what the scanner checks of the credential
    /// alone, in its order: its lifetime, and the licence's validity dates and the status
    /// letters signed into it against the Beijing date at `now` (the scanner's own
    /// `credential_standing`, worded by `word_for_refusal` for what the driver can do:
    /// sync, wait, or renew the licence, D154); only then is its index read in the status
    /// list. So the wallet never says "in force" where the scanner refuses (D152).
    pub fn own_status(&self, credential: &Credential, now: u64) -> OwnStatus {
        let Ok(trust) = self.anchor.trust_list(now) else {
            return OwnStatus::NotChecked;
        };
        let Ok(view) = credential
            .view(crate::credential::Audience::Enforcement)
            .verify(trust)
        else {
            return OwnStatus::NotChecked;
        };
        if let Err(refused) = credential_standing(&view, now, DEFAULT_SKEW) {
            return word_for_refusal(&view, &refused);
        }
        let Some(list) = &self.status else {
            return OwnStatus::NotChecked;
        };
        match list.status_at(view.header().status_index, now) {
            Ok(StatusAnswer::Known(ElicenceStatus::InForce)) => OwnStatus::InForce,
            Ok(StatusAnswer::Known(ElicenceStatus::Suspended)) => OwnStatus::Suspended,
            Ok(StatusAnswer::Known(ElicenceStatus::Superseded)) => OwnStatus::Superseded,
            Ok(StatusAnswer::Unknown) | Err(_) => OwnStatus::Unknown,
        }
    }
}

/// How the wallet words the scanner's refusal of its credential on its own
/// ([`credential_standing`]):
///
/// - Its lifetime over: [`OwnStatus::Superseded`] (a sync brings a fresh credential).
/// - Its issue time ahead of the clock: [`OwnStatus::NotChecked`] (the wallet's clock and
///   the issuer's disagree, so nothing can be said yet).
/// - The licence refused: by the status letters first, worded as the authority's status
///   list words them ([`ElicenceStatus::of_letters`]), so a synced wallet (whose credential
///   the authority re-signed with the letter) hears what the list says: E, F, G and C
///   superseded, every other letter suspended. Otherwise by the date, worded for what the
///   driver can do (D154): a validity that has ended is [`OwnStatus::LicenceExpired`] (only
///   a renewal helps; a sync brings the same dates), one that has not begun is
///   [`OwnStatus::LicenceNotYetValid`] (refused for now, taken from its first day).
fn word_for_refusal(view: &DisclosedView, refused: &Rejection) -> OwnStatus {
    match refused {
        Rejection::CredentialExpired => return OwnStatus::Superseded,
        Rejection::CredentialNotYetValid => return OwnStatus::NotChecked,
        _ => {}
    }
    match ElicenceStatus::of_letters(view.status()) {
        ElicenceStatus::Superseded => OwnStatus::Superseded,
        ElicenceStatus::Suspended => OwnStatus::Suspended,
        ElicenceStatus::InForce if *refused == Rejection::LicenceNotYetValid => {
            OwnStatus::LicenceNotYetValid
        }
        // Letters that leave the licence in force: only its validity's end refused it
        // (`e_licence_eligibility`'s `OverdueRenewal` by the date).
        ElicenceStatus::InForce => OwnStatus::LicenceExpired,
    }
}

/// A root public key from its text form: 64 hexadecimal characters (either case, white
/// space around ignored), as `edl authority root` prints it and a verifier app is
/// configured with. `None` for anything else, or for bytes that are not a valid Ed25519
/// point.
pub fn root_key_from_text(text: &str) -> Option<PublicKey> {
    // `decode_to_slice` refuses any length but 64 and anything but hex digits.
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
    PublicKey::from_bytes(&bytes).ok()
}

/// The text form of a root public key: 64 lower-case hexadecimal characters.
pub fn root_key_to_text(key: &PublicKey) -> String {
    hex::encode(key.to_bytes())
}

#[cfg(test)]
mod tests;
