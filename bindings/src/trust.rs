//! The records and enums of the pinned root, the signed lists and the offline status
//! (D93), and the root key's two input forms. Translation only: the checks are
//! `edl_core::verify::OfflineTrust`'s.

use edl_core::crypto::PublicKey;
use edl_core::verify;

use crate::error::EdlError;
use crate::mirror::mirror_enum;
use crate::types::LocalizedText;

mirror_enum!(
    /// What the status list said about an accepted presentation.
    pub enum StatusCheck = verify::StatusCheck {
        /// A fixed trust list's verifier, which holds no status list: only the status signed
        /// into the e-licence was checked (a pinned verifier holding none answers `Unknown`).
        NotChecked,
        /// A fresh status list holds the e-licence in force.
        InForce,
        /// The status list is stale, or a pinned verifier holds none: accepted by policy,
        /// "status unknown: check online".
        Unknown,
    }
);

mirror_enum!(
    /// What a verifier does when its status list is stale.
    pub enum StaleStatusPolicy = verify::StaleStatus {
        /// Accept with `StatusCheck::Unknown`.
        Accept,
        /// Refuse with `RejectionReason::StatusUnknown`.
        Refuse,
    }
);

mirror_enum!(
    /// What the lists a wallet holds say about its own e-licence.
    pub enum OwnStatus = verify::OwnStatus {
        /// In force.
        InForce,
        /// Suspended, by the status list or the signed letters.
        Suspended,
        /// Revoked or replaced, or the credential's lifetime over: sync.
        Superseded,
        /// The licence is past its validity: renew it; a sync changes nothing.
        LicenceExpired,
        /// The licence's validity begins on a later day: refused until then.
        LicenceNotYetValid,
        /// The status list is stale.
        Unknown,
        /// No valid lists held, or the e-licence does not verify under them (or is from
        /// the future).
        NotChecked,
    }
);

/// The trust list held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustListInfo {
    /// Its sequence number.
    pub sequence: u32,
    /// When it was issued.
    pub issued_at_unix: u64,
    /// When it expires.
    pub expires_at_unix: u64,
    /// How many issuer keys it holds.
    pub keys: u32,
}

impl From<verify::TrustListSummary> for TrustListInfo {
    fn from(s: verify::TrustListSummary) -> Self {
        TrustListInfo {
            sequence: s.sequence,
            issued_at_unix: s.issued_at.into(),
            expires_at_unix: s.expires_at.into(),
            keys: s.keys,
        }
    }
}

/// The status list held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusListInfo {
    /// When it was issued.
    pub issued_at_unix: u64,
    /// From when it is stale.
    pub stale_at_unix: u64,
    /// How many e-licence indices it covers.
    pub entries: u32,
}

impl From<verify::StatusListSummary> for StatusListInfo {
    fn from(s: verify::StatusListSummary) -> Self {
        StatusListInfo {
            issued_at_unix: s.issued_at.into(),
            stale_at_unix: s.stale_at,
            entries: s.entries,
        }
    }
}

/// Both lists after a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListsInfo {
    /// The trust list now held.
    pub trust_list: TrustListInfo,
    /// The status list now held.
    pub status_list: StatusListInfo,
}

impl From<edl_core::wallet::ListsRefreshed> for ListsInfo {
    fn from(l: edl_core::wallet::ListsRefreshed) -> Self {
        ListsInfo {
            trust_list: l.trust_list.into(),
            status_list: l.status_list.into(),
        }
    }
}

/// A root public key from its 32 bytes.
pub(crate) fn root_from_bytes(bytes: &[u8]) -> Result<PublicKey, EdlError> {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .and_then(|b| PublicKey::from_bytes(&b).ok())
        .ok_or_else(|| EdlError::InvalidArgument {
            detail: "root_public_key: not a 32-byte Ed25519 public key".into(),
        })
}

/// A root public key from its text form (64 hex digits).
pub(crate) fn root_from_text(text: &str) -> Result<PublicKey, EdlError> {
    verify::root_key_from_text(text).ok_or_else(|| EdlError::InvalidArgument {
        detail: "root_public_key: not 64 hex digits of an Ed25519 public key".into(),
    })
}

/// The wallet's own status, as the screen words it.
pub fn own_status_text(status: OwnStatus) -> LocalizedText {
    edl_core::display::own_status(status.into()).into()
}

/// A verifier's status outcome, as the screen words it.
pub fn status_check_text(status: StatusCheck) -> LocalizedText {
    edl_core::display::status_check(status.into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_key_is_32_bytes_or_64_hex_digits_and_nothing_else() {
        let key = edl_core::crypto::SecretKey::from_seed([7; 32]).public();
        let text = verify::root_key_to_text(&key);
        assert_eq!(root_from_bytes(&key.to_bytes()), Ok(key));
        assert_eq!(root_from_text(&text), Ok(key));
        for bad in [&b""[..], &[0; 31][..], &[0; 33][..]] {
            assert!(matches!(
                root_from_bytes(bad),
                Err(EdlError::InvalidArgument { .. })
            ));
        }
        assert!(matches!(
            root_from_text("EDL:abc"),
            Err(EdlError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn the_outcome_texts_come_from_the_core() {
        assert!(
            status_check_text(StatusCheck::Unknown)
                .en
                .contains("check online")
        );
        assert!(own_status_text(OwnStatus::Suspended).zh.contains("暂停"));
        // An expired licence asks for a renewal, not a sync (D154).
        assert!(
            own_status_text(OwnStatus::LicenceExpired)
                .zh
                .contains("换证")
        );
    }
}
