//! The wallet's own copy of the lists a verifier holds (D93): the pinned root, the newest
//! root-signed trust list and the newest status list, checked as a verifier checks them,
//! so the driver sees offline what a police scanner with the same lists would answer.

use crate::credential::Credential;
use crate::crypto::PublicKey;
use crate::verify::{
    DEFAULT_SKEW, OfflineTrust, OwnStatus, StatusListRefusal, StatusListSummary, TrustListSummary,
    live_skew,
};
use crate::wire::Base64;

use super::handle::Wallet;
use super::store::StoreRead;
use super::{WalletError, state};

/// The lists as stored: the raw signed bytes, checked again each time they are read.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredLists {
    root: Option<Base64>,
    trust_list: Option<Base64>,
    status_list: Option<Base64>,
}

/// What [`Wallet::refresh_lists`] took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListsRefreshed {
    /// The trust list now held.
    pub trust_list: TrustListSummary,
    /// The status list now held.
    pub status_list: StatusListSummary,
}

impl Wallet {
    /// Pins the authority's root key: from now on only lists signed by it (or by a next
    /// root it announces) are taken. Pinning another root drops the lists held.
    pub fn pin_root(&self, root: PublicKey) -> Result<(), WalletError> {
        let bytes = root.to_bytes().to_vec();
        self.store().write(|tx| {
            let held: StoredLists = tx.get_doc(state::TRUST_LISTS)?.unwrap_or_default();
            if held.root.as_ref().map(Base64::as_bytes) == Some(bytes.as_slice()) {
                return Ok(());
            }
            let pinned = StoredLists {
                root: Some(Base64(bytes)),
                ..StoredLists::default()
            };
            tx.put_doc(state::TRUST_LISTS, &pinned)
        })?;
        Ok(())
    }

    /// Fetches the signed trust list and status list from the authority the wallet is
    /// enrolled with, checks them under the pinned root and keeps them. A list refused
    /// leaves the lists held as they were.
    pub async fn refresh_lists(&self) -> Result<ListsRefreshed, WalletError> {
        self.on_runtime(tracing::info_span!("refresh_lists"), |w| async move {
            w.refresh_here().await
        })
        .await
    }

    async fn refresh_here(&self) -> Result<ListsRefreshed, WalletError> {
        let enrolment = self.enrolment()?;
        let client = self.client(&enrolment.authority_url)?;
        let trust = client
            .get_bytes(
                crate::wire::paths::SIGNED_TRUST_LIST,
                crate::net::MAX_TRUST_LIST_BYTES,
            )
            .await?;
        let status = client
            .get_bytes(
                crate::wire::paths::STATUS_LIST,
                crate::net::MAX_STATUS_LIST_BYTES,
            )
            .await?;
        self.keep_lists(&trust, &status, true)
    }

    /// Checks and keeps lists the app obtained itself (a file, another channel).
    pub fn load_lists(
        &self,
        trust_list: &[u8],
        status_list: &[u8],
    ) -> Result<ListsRefreshed, WalletError> {
        self.keep_lists(trust_list, status_list, false)
    }

    /// Checks and keeps the lists; a status list `fetched_live` from the authority must
    /// also be recent ([`OfflineTrust::load_fetched_status_list`], AG-F2).
    fn keep_lists(
        &self,
        trust_list: &[u8],
        status_list: &[u8],
        fetched_live: bool,
    ) -> Result<ListsRefreshed, WalletError> {
        let now = self.now()?;
        // One transaction: two refreshes at once cannot interleave their checks and writes.
        let (trust_list_summary, status_list_summary) = self.store().write(|tx| {
            let mut stored: StoredLists = tx.get_doc(state::TRUST_LISTS)?.unwrap_or_default();
            let mut held = offline_trust(&stored, now)?;
            let trust = if fetched_live {
                held.load_fetched_trust_list(trust_list, now, DEFAULT_SKEW)
            } else {
                held.load_trust_list(trust_list, now, DEFAULT_SKEW)
            }
            .map_err(WalletError::TrustList)?;
            let status = if fetched_live {
                held.load_fetched_status_list(status_list, now, DEFAULT_SKEW)
            } else {
                held.load_status_list(status_list, now, DEFAULT_SKEW)
            }
            .map_err(WalletError::StatusList)?;
            stored.trust_list = Some(Base64(trust_list.to_vec()));
            stored.status_list = Some(Base64(status_list.to_vec()));
            // A root rotation the list announced and then used is pinned from now on.
            stored.root = Some(Base64(held.root().to_bytes().to_vec()));
            tx.put_doc(state::TRUST_LISTS, &stored)?;
            Ok::<_, WalletError>((trust, status))
        })?;
        tracing::info!(
            sequence = trust_list_summary.sequence,
            "trust and status lists refreshed"
        );
        Ok(ListsRefreshed {
            trust_list: trust_list_summary,
            status_list: status_list_summary,
        })
    }

    /// What the lists held say about the wallet's own e-licence now, as a verifier holding
    /// them would answer offline, and when it would refuse, the reason the driver can act
    /// on (a licence past its validity or not yet in it is told apart from a superseded
    /// e-licence, D154). Works without network.
    pub fn own_status(&self) -> Result<OwnStatus, WalletError> {
        let now = self.now()?;
        let Some(elicence) = self.elicence()? else {
            return Err(WalletError::NoElicence);
        };
        let Some(bytes) = elicence.credential else {
            return Err(WalletError::NoElicence);
        };
        let credential = Credential::decode(bytes.as_bytes())?;
        let stored: StoredLists = self
            .store()
            .get_doc(state::TRUST_LISTS)?
            .unwrap_or_default();
        Ok(offline_trust(&stored, now)?.own_status(&credential, now))
    }
}

/// The lists held, checked again: a stored list that no longer passes (expired) is
/// simply not held.
fn offline_trust(stored: &StoredLists, now: u64) -> Result<OfflineTrust, WalletError> {
    let root = stored
        .root
        .as_ref()
        .and_then(|r| <[u8; 32]>::try_from(r.as_bytes()).ok())
        .and_then(|r| PublicKey::from_bytes(&r).ok())
        .ok_or(WalletError::NoRootPinned)?;
    let mut held = OfflineTrust::pinned(root);
    // Read back with the allowance they may have been taken with (fetched live, dated up
    // to that far ahead of this clock): the plain skew dropped a list just taken, and with
    // it the rollback guard (AL-F2). Each was checked when it came.
    let skew = live_skew(DEFAULT_SKEW);
    if let Some(list) = &stored.trust_list {
        // Expired or not, the stored list was checked when it came; an expired one
        // no longer vouches for anything.
        let _ = held.load_trust_list(list.as_bytes(), now, skew);
    }
    if let Some(list) = &stored.status_list {
        let _: Result<_, StatusListRefusal> = held.load_status_list(list.as_bytes(), now, skew);
    }
    Ok(held)
}
