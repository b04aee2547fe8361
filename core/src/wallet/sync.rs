//! Applying the authority's delta to the store: all of one sync in one transaction.

use crate::credential::{Credential, TrustList};
use crate::crypto::{PublicKey, SecretKey};
use crate::wire::photo::check_photo_form;
use crate::wire::{ApplicationView, ElicenceState, SyncResponse};

use super::WalletError;
use super::state::{self, Enrolment, StoredElicence, SyncState};
use super::store::{StoreRead, WriteTx};

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

/// Checks a page before anything is written, so a bad answer never reaches the store: a
/// licence is valid and is the enrolled licence (not someone else's), a photo is an image
/// of a licence photo's size, and a credential verifies against the trust list and is
/// bound to this device's key.
pub(crate) fn check_page(
    page: &SyncResponse,
    asked: &PageRequest<'_>,
    trust: &TrustList,
    device_key: &PublicKey,
) -> Result<(), WalletError> {
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
        check_photo(photo.as_bytes())?;
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

/// The approved photo of a page: the wire's form, a JPEG or PNG of 64 bytes to 2 MiB
/// (`wire::photo`; the second hostile review's R13: a 32 MiB block of anything was stored
/// as the photo). Not compared with the licence's `photo_digest`: a photo approved while
/// the licence was not in force is stored without re-signing the licence, so the two may
/// differ (D123).
fn check_photo(bytes: &[u8]) -> Result<(), WalletError> {
    check_photo_form(bytes).map_err(|e| {
        WalletError::Protocol(format!("the approved photo is not a licence photo: {e}"))
    })
}

/// Whether `page`, asked from `asked`, starts the feed over: the authority answers from
/// the start when the wallet's cursor is ahead of the driver's feed (a restored server, a
/// failover to a replica a little behind). The wallet then drops the feed entries it holds
/// and takes the authority's again, instead of storing them a second time under other ids
/// (the second hostile review's R11; refusing such a page would have stopped a wallet
/// whose authority legitimately started over).
pub(crate) fn starts_over(asked: u64, page: &SyncResponse) -> bool {
    page.cursor < asked
}

/// What a sync page was asked for: for which enrolled licence.
pub(crate) struct PageRequest<'a> {
    /// The licence number the wallet was enrolled with.
    pub licence_number: &'a str,
}

/// What an answer of the authority was asked on: the enrolment and device key that signed
/// the request, the sync cursor and the application as stored. An answer is written only if
/// the store still holds the same, read again inside the write transaction (D133): a new
/// enrolment (new device key, cursor back to 0) or an upload's newer application in
/// between would otherwise be overwritten by an answer meant for the store as it was (the
/// third hostile review's F2-enrol: the old device's e-licence and TOTP seed stored under
/// the new device key, every presentation then refused).
#[derive(Debug, PartialEq)]
pub(crate) struct Basis {
    pub enrolment: Enrolment,
    pub device_key: PublicKey,
    pub cursor: u64,
    pub application: Option<ApplicationView>,
}

impl Basis {
    /// The basis as `store` holds it now.
    pub(crate) fn read(store: &impl StoreRead) -> Result<Basis, WalletError> {
        let enrolment = store
            .get_doc(state::ENROLMENT)?
            .ok_or(WalletError::NotEnrolled)?;
        let seed = store
            .get_secret(state::DEVICE_KEY)?
            .and_then(|s| s.to_array::<32>())
            .ok_or(WalletError::NotEnrolled)?;
        let cursor = store
            .get_doc::<SyncState>(state::SYNC_STATE)?
            .unwrap_or_default()
            .cursor;
        Ok(Basis {
            enrolment,
            device_key: SecretKey::from_seed(*seed).public(),
            cursor,
            application: store.get_doc(state::APPLICATION)?,
        })
    }

    /// Whether the store still holds the same enrolment and device key.
    pub(crate) fn same_enrolment(&self, now: &Basis) -> bool {
        self.enrolment == now.enrolment && self.device_key == now.device_key
    }
}

/// Writes checked pages in order, then the new sync state. `from_start`: the pages start
/// the feed over ([`starts_over`]), so the feed entries held are dropped first.
pub(crate) fn apply(
    tx: &WriteTx<'_>,
    pages: &[SyncResponse],
    new_state: SyncState,
    from_start: bool,
) -> Result<SyncReport, WalletError> {
    let mut report = SyncReport::default();
    if from_start {
        tx.clear_list(state::MESSAGES)?;
        tx.clear_list(state::VERIFICATION_LOG)?;
    }
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
    use crate::wallet::store::StoreRead;
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

    fn check(page: &SyncResponse, number: &str) -> Result<(), WalletError> {
        let asked = PageRequest {
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
    fn a_feed_started_over_replaces_the_entries_held_instead_of_doubling_them() {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::wallet::store::SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new(
            [5; 32],
        ));
        let store =
            crate::wallet::store::WalletStore::open(dir.path().join("w.db"), &keys).unwrap();
        let message = |n: u64| crate::wire::FeedMessage {
            at: n,
            kind: crate::wire::MessageKind::ApplicationSucceeded,
            title: format!("m{n}"),
            body: String::new(),
        };
        let mut first = page(5);
        first.messages = vec![message(1), message(2)];
        // The authority starts over from 0: the same two entries, under a lower cursor.
        let mut again = page(2);
        again.messages = vec![message(1), message(2)];
        assert!(!starts_over(0, &first));
        assert!(starts_over(5, &again));
        for (p, from_start) in [(first, false), (again, true)] {
            store
                .write(|tx| apply(tx, &[p], SyncState::default(), from_start))
                .unwrap();
        }
        let held: Vec<crate::wallet::store::ListItem<crate::wire::FeedMessage>> =
            store.list_items(state::MESSAGES).unwrap();
        assert_eq!(held.len(), 2);
    }

    #[test]
    fn a_photo_must_be_a_jpeg_or_png_of_at_most_2_mib() {
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7; 200]].concat();
        let mut p = page(1);
        p.photo = Some(crate::wire::Base64(jpeg));
        assert!(check(&p, "").is_ok());
        for bad in [
            vec![0xFF; 4096],
            [&[0xFF, 0xD8, 0xFF][..], &vec![0; 2 << 20]].concat(),
        ] {
            let mut p = page(1);
            p.photo = Some(crate::wire::Base64(bad));
            assert!(matches!(check(&p, ""), Err(WalletError::Protocol(_))));
        }
    }

    #[test]
    fn a_licence_other_than_the_enrolled_one_is_refused() {
        let licence = sample_licence(date!(2026 - 06 - 01));
        let mine = licence.main.licence_number.clone();
        let mut p = page(3);
        p.licence = Some(licence);
        assert!(check(&p, &mine).is_ok());
        assert!(matches!(
            check(&p, "110101199003070001"),
            Err(WalletError::Protocol(_))
        ));
    }
}
