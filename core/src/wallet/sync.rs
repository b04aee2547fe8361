//! Applying the authority's delta to the store: all of one sync in one transaction.

use crate::credential::{Credential, TrustList};
use crate::crypto::PublicKey;
use crate::wire::{ElicenceState, SyncResponse};

use super::WalletError;
use super::state::{self, StoredElicence, SyncState};
use super::store::WriteTx;

/// What one sync changed, for the app to react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// Pages (status, points, record) changed.
    pub licence_changed: bool,
    /// A new e-licence arrived, or the current one stopped verifying.
    pub elicence_changed: bool,
    /// The application moved on.
    pub application_changed: bool,
    /// New photo review results.
    pub reviews: u32,
    /// New messages.
    pub messages: u32,
    /// New verification log entries.
    pub verifications: u32,
}

/// Checks a page before anything is written, so a bad answer never reaches the store: the
/// page moves the cursor on from the one it was asked for (going back would store its feed
/// entries twice), a licence is valid and is the enrolled licence (not someone else's), and
/// a credential verifies against the trust list and is bound to this device's key.
pub(crate) fn check_page(
    page: &SyncResponse,
    asked: &PageRequest<'_>,
    trust: &TrustList,
    device_key: &PublicKey,
) -> Result<(), WalletError> {
    if page.cursor < asked.cursor {
        return Err(WalletError::Protocol(
            "the sync cursor went backwards".into(),
        ));
    }
    if let Some(licence) = &page.licence {
        licence
            .validate()
            .map_err(|_| WalletError::Protocol("licence data fails validation".into()))?;
        if licence.main.licence_number != asked.licence_number {
            return Err(WalletError::Protocol(
                "a licence other than the enrolled one".into(),
            ));
        }
    }
    if let Some(photo) = &page.photo {
        check_photo(photo.as_bytes(), page.licence.as_ref())?;
    }
    if let Some(e) = &page.elicence
        && e.state == ElicenceState::Active
    {
        let bytes = e
            .credential
            .as_ref()
            .ok_or_else(|| WalletError::Protocol("active e-licence without credential".into()))?;
        let credential = Credential::decode(bytes.as_bytes())?;
        let (view, _) = credential.verify(trust)?;
        if view.header.device_key != *device_key || view.id != e.elicence_id {
            return Err(WalletError::Protocol(
                "credential not bound to this device".into(),
            ));
        }
        if e.totp_seed
            .as_ref()
            .and_then(|s| s.to_array::<32>())
            .is_none()
        {
            return Err(WalletError::Protocol(
                "active e-licence without a 32-byte TOTP seed".into(),
            ));
        }
    }
    Ok(())
}

/// Largest approved photo the authority stores (HTTP.md: JPEG or PNG, at most 2 MiB).
const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The approved photo of a page: a JPEG or PNG (by its magic bytes) of at most 2 MiB and,
/// when the page brings the licence too (an approved photo changes its digest, so both
/// come together), the photo that licence names (the second hostile review's R13: a
/// 32 MiB block of anything was stored as the photo).
fn check_photo(bytes: &[u8], licence: Option<&crate::licence::Licence>) -> Result<(), WalletError> {
    let image = bytes.starts_with(&[0xFF, 0xD8, 0xFF]) || bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    if !image || bytes.len() > MAX_PHOTO_BYTES {
        return Err(WalletError::Protocol(
            "a photo that is not a JPEG or PNG of at most 2 MiB".into(),
        ));
    }
    if licence.is_some_and(|l| crate::crypto::sha256(bytes) != l.main.photo_digest) {
        return Err(WalletError::Protocol(
            "a photo other than the one the licence names".into(),
        ));
    }
    Ok(())
}

/// What a sync page was asked for: from which cursor, for which enrolled licence.
pub(crate) struct PageRequest<'a> {
    /// The cursor the page was asked from.
    pub cursor: u64,
    /// The licence number the wallet was enrolled with.
    pub licence_number: &'a str,
}

/// Writes checked pages in order, then the new sync state.
pub(crate) fn apply(
    tx: &WriteTx<'_>,
    pages: &[SyncResponse],
    new_state: SyncState,
) -> Result<SyncReport, WalletError> {
    let mut report = SyncReport::default();
    for page in pages {
        if let Some(licence) = &page.licence {
            tx.put_doc(state::LICENCE, licence)?;
            report.licence_changed = true;
        }
        if let Some(photo) = &page.photo {
            tx.put_doc(state::PHOTO, photo)?;
        }
        if let Some(e) = &page.elicence {
            let stored = StoredElicence {
                id: e.elicence_id,
                state: e.state,
                credential: e.credential.clone(),
                issued_at: e.issued_at,
                expires_at: e.expires_at,
            };
            tx.put_doc(state::ELICENCE, &stored)?;
            match &e.totp_seed {
                Some(seed) if e.state == ElicenceState::Active => {
                    tx.put_secret(state::TOTP_SEED, seed.as_bytes())?
                }
                _ => {
                    tx.delete_secret(state::TOTP_SEED)?;
                }
            }
            report.elicence_changed = true;
        }
        if let Some(application) = &page.application {
            tx.put_doc(state::APPLICATION, application)?;
            report.application_changed = true;
        }
        // Feed items have no server id; the page's cursor and position name them uniquely.
        let id = |kind: &str, i: usize| format!("{:020}-{kind}-{i:05}", page.cursor);
        for r in &page.reviews {
            tx.upsert_item(state::PHOTO_REVIEWS, &r.photo_id.to_string(), r)?;
            report.reviews += 1;
        }
        for (i, m) in page.messages.iter().enumerate() {
            tx.upsert_item(state::MESSAGES, &id("m", i), m)?;
            report.messages += 1;
        }
        for (i, v) in page.verifications.iter().enumerate() {
            tx.upsert_item(state::VERIFICATION_LOG, &id("v", i), v)?;
            report.verifications += 1;
        }
    }
    tx.put_doc(state::SYNC_STATE, &new_state)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::licence::fixtures::sample_licence;
    use time::macros::date;

    fn page(cursor: u64) -> SyncResponse {
        SyncResponse {
            cursor,
            more: false,
            server_time: 1_800_000_000,
            licence: None,
            photo: None,
            elicence: None,
            application: None,
            reviews: Vec::new(),
            messages: Vec::new(),
            verifications: Vec::new(),
        }
    }

    fn check(page: &SyncResponse, cursor: u64, number: &str) -> Result<(), WalletError> {
        let asked = PageRequest {
            cursor,
            licence_number: number,
        };
        let trust = TrustList::new(Vec::new()).unwrap();
        check_page(
            page,
            &asked,
            &trust,
            &SecretKey::from_seed([7; 32]).public(),
        )
    }

    #[test]
    fn a_page_that_takes_the_cursor_back_is_refused() {
        assert!(check(&page(7), 7, "").is_ok());
        assert!(check(&page(9), 7, "").is_ok());
        assert!(matches!(
            check(&page(0), 7, ""),
            Err(WalletError::Protocol(_))
        ));
    }

    #[test]
    fn a_photo_must_be_a_small_jpeg_or_png_and_the_licence_s() {
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7; 200]].concat();
        let mut licence = sample_licence(date!(2026 - 06 - 01));
        let number = licence.main.licence_number.clone();
        let mut p = page(1);
        p.photo = Some(crate::wire::Base64(jpeg.clone()));
        assert!(check(&p, 0, &number).is_ok(), "a photo alone");
        licence.main.photo_digest = crate::crypto::sha256(&jpeg);
        p.licence = Some(licence.clone());
        assert!(check(&p, 0, &number).is_ok(), "with the licence naming it");
        licence.main.photo_digest = [9; 32];
        p.licence = Some(licence);
        assert!(matches!(
            check(&p, 0, &number),
            Err(WalletError::Protocol(_))
        ));
        for bad in [
            vec![0xFF; 4096],
            [&[0xFF, 0xD8, 0xFF][..], &vec![0; 2 << 20]].concat(),
        ] {
            let mut p = page(1);
            p.photo = Some(crate::wire::Base64(bad));
            assert!(matches!(check(&p, 0, ""), Err(WalletError::Protocol(_))));
        }
    }

    #[test]
    fn a_licence_other_than_the_enrolled_one_is_refused() {
        let licence = sample_licence(date!(2026 - 06 - 01));
        let mine = licence.main.licence_number.clone();
        let mut p = page(3);
        p.licence = Some(licence);
        assert!(check(&p, 0, &mine).is_ok());
        assert!(matches!(
            check(&p, 0, "110101199003070001"),
            Err(WalletError::Protocol(_))
        ));
    }
}
