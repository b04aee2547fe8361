//! What a store keeps when its rows are not the set it last wrote (D143).
//!
//! The row digest (`digest`) says only that the set of rows was changed outside the store:
//! rows put back from an older copy of the same wallet, or deleted (the third hostile
//! review's B-F4). It cannot say which rows are current, so none of what the authority
//! gives back is trusted: it is dropped, and the sync cursor goes back to 0, so the next
//! sync brings all of it again (from cursor 0 the authority answers with the licence, the
//! photo, the e-licence with its credential and TOTP seed, the application and the whole
//! feed). Until then the wallet shows what a wallet enrolled and not yet synced shows:
//! nothing stale as current.
//!
//! Kept, since only the wallet holds them and each is checked where it is used: the
//! enrolment and the device key (a wrong one is refused by the authority, and enrolling
//! again is the answer, as for any lost key), the trust list the sync verifies with (fetched
//! again when a page does not verify), the pinned root and the signed lists (root-signed and
//! dated: an older status list is what a verifier holding it would answer, until its time to
//! live), and the last photo submission.

use super::error::{Conversion, Corruption, StoreError};
use super::read::StoreRead;
use super::write::WriteTx;
use crate::wallet::state::{self, SyncState};

/// Documents that a sync from cursor 0 brings again.
const DOCS: &[&str] = &[
    state::LICENCE,
    state::PHOTO,
    state::ELICENCE,
    state::APPLICATION,
];

/// Secrets that a sync from cursor 0 brings again: the TOTP seed comes with the e-licence.
const SECRETS: &[&str] = &[state::TOTP_SEED];

/// Lists that a sync from cursor 0 brings again: the authority's whole feed.
const LISTS: &[&str] = &[
    state::MESSAGES,
    state::VERIFICATION_LOG,
    state::PHOTO_REVIEWS,
];

/// Drops what the authority gives back and sets the sync cursor to 0, keeping the clock
/// offset (a presentation's window needs it before the next sync) and forgetting when the
/// last sync was.
pub(super) fn forget_what_the_authority_gives_back(tx: &WriteTx<'_>) -> Result<(), StoreError> {
    for name in DOCS {
        tx.delete_doc(name)?;
    }
    for name in SECRETS {
        tx.delete_secret(name)?;
    }
    for list in LISTS {
        tx.clear_list(list)?;
    }
    match tx.get_doc::<SyncState>(state::SYNC_STATE) {
        Ok(Some(held)) => tx.put_doc(
            state::SYNC_STATE,
            &SyncState {
                cursor: 0,
                clock_offset: held.clock_offset,
                last_synced: None,
            },
        )?,
        Ok(None) => {}
        // The state may itself be the row tampered with: without it the wallet syncs from
        // cursor 0 and learns the authority's clock again at its next exchange (D123).
        Err(
            StoreError::Corrupt(Corruption::Unauthentic)
            | StoreError::Conversion(Conversion::Decode),
        ) => {
            tx.delete_doc(state::SYNC_STATE)?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}
