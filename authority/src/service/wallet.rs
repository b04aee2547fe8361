//! What the driver's wallet calls: enrolment, the real-person check, the application,
//! photo uploads and sync.

use edl_core::credential::ElicenceId;
use edl_core::crypto::{PublicKey, ct_eq, sha256};
use edl_core::wire::{
    ApplicationPhase, ApplicationView, ApplyRequest, Base64, ElicenceState, ElicenceUpdate,
    EnrolRequest, EnrolResponse, FeedMessage, IdentityChallenge, PhotoAccepted, PhotoUpload,
    SyncResponse,
};
use tracing::instrument;

use super::{App, SYNC_PAGE, application_view, photo_bytes, signing};
use crate::domain::rules::{self, Upload};
use crate::domain::{live_licence, review_deadline};
use crate::error::{Error, Result};
use crate::random;
use crate::store::{
    Bytes32, Challenge, DriverId, DriverState, FeedEvent, StoreError, SyncSnapshot,
};
use crate::throttle::SourceKey;

fn valid_client_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl App {
    /// Enrols a device with a one-time activation code, from `source` (the client's
    /// address, for the per-source back-off; D75).
    #[instrument(skip_all)]
    pub async fn enrol(&self, e: EnrolRequest, source: SourceKey) -> Result<EnrolResponse> {
        let now = self.now();
        let key = e
            .device_public_key
            .to_array::<32>()
            .filter(|k| PublicKey::from_bytes(k).is_ok())
            .ok_or_else(|| Error::BadRequest("`device_public_key` is not an Ed25519 key".into()))?;
        if e.activation_code.len() > 32 || e.licence_number.len() > 32 {
            return Err(Error::BadActivationCode);
        }
        let number = e.licence_number.trim();
        // Counted before the code is looked at, known licence or not (D75), in the store
        // that every process on the database shares (D156).
        let attempt = self
            .enrolment
            .attempt(self.store.as_ref(), self.keys.sealer(), number, source, now)
            .await
            // Debug, not warn: an anonymous caller makes one at will (third hostile review,
            // C-F6). Operators count them as 429s of the enrol route in `/metrics`.
            .inspect_err(|e| {
                if matches!(e, Error::LockedOut { .. }) {
                    tracing::debug!("enrolment refused: back-off");
                }
            })?;
        // An unknown licence number gets the same answer as a wrong code: enrolment must
        // not tell which licence numbers exist.
        let Some(driver) = self.store.driver_by_licence_number(number).await? else {
            return Err(Error::BadActivationCode);
        };
        let hash = sha256(e.activation_code.trim().as_bytes());
        // Decided on the read: a wrong code is answered as an unknown number is, with
        // nothing written (AH-F2). The write decides again, for a code used meanwhile.
        if !rules::activation_code_matches(&driver, &hash, &key, now) {
            return Err(Error::BadActivationCode);
        }
        let state = self
            .store
            .update_driver(
                driver.id,
                Box::new(move |s| rules::enrol(s, hash, key, now)),
            )
            .await?;
        tracing::info!(account = state.id, "device enrolled");
        // The device is enrolled whatever happens here: a count not forgiven only makes
        // the next enrolment on this licence wait, at most the licence's cap.
        if let Err(e) = self
            .enrolment
            .succeeded(self.store.as_ref(), attempt, now)
            .await
        {
            tracing::warn!(error = %e, "enrolment back-off not forgiven");
        }
        Ok(EnrolResponse {
            account_id: state.id,
            server_time: now,
        })
    }

    /// A real-person check challenge (replaces any earlier one).
    #[instrument(skip(self))]
    pub async fn identity_challenge(&self, account: DriverId) -> Result<IdentityChallenge> {
        let now = self.now();
        let challenge = Challenge {
            id: random::id(),
            nonce: Bytes32(random::bytes()),
            expires_at: now + self.config.identity_challenge_ttl,
        };
        let c = challenge.clone();
        self.store
            .update_driver(account, Box::new(move |s| Ok(rules::set_challenge(s, c))))
            .await?;
        Ok(IdentityChallenge {
            challenge_id: challenge.id,
            challenge: Base64(challenge.nonce.0.to_vec()),
            expires_at: challenge.expires_at,
        })
    }

    /// Applies for the e-licence.
    #[instrument(skip(self, a))]
    pub async fn apply(&self, account: DriverId, a: ApplyRequest) -> Result<ApplicationView> {
        let now = self.now();
        let keys = self.signing_keys().await?;
        let ttl = self.ttl();
        let identity = self.identity.clone();
        let max_age = self.config.photo_reuse_max_age;
        let state = self
            .update_issuing(account, move |s, new| {
                rules::apply(
                    s,
                    a.clone(),
                    identity.as_ref(),
                    max_age,
                    new,
                    signing(&keys, now, ttl),
                )
            })
            .await?;
        tracing::info!(phase = ?state.phase, "application");
        Ok(application_view(&state))
    }

    /// Uploads a photo for the application or a photo change.
    #[instrument(skip(self, p))]
    pub async fn upload_photo(&self, account: DriverId, p: PhotoUpload) -> Result<PhotoAccepted> {
        let now = self.now();
        if !valid_client_key(&p.client_key) {
            return Err(Error::BadRequest(
                "`client_key` must be 1 to 64 of A-Z a-z 0-9 - _".into(),
            ));
        }
        crate::domain::check_wallet_photo(p.photo.as_bytes())?;
        let (digest, bytes) = photo_bytes(&p.photo)?;
        if let Some(answer) = self.repeated_upload(account, &p.client_key, digest).await? {
            tracing::debug!("repeated upload answered again");
            return Ok(answer);
        }
        let photo_id = random::id();
        let deadline = review_deadline(now);
        let upload = Upload {
            photo_id,
            client_key: p.client_key.clone(),
            digest,
            bytes,
            deadline,
        };
        let size = upload.bytes.len();
        // The phase is checked inside the update (a stop or renewal may commit between
        // any read here and the write); so is whether the switch applies, a change's, so a
        // switch that cannot be read refuses changes only (D177).
        let busy = self.busy().await;
        if let Err(e) = &busy {
            // Said here: a first photo goes on without it, and nothing else would say.
            tracing::warn!(error = %e, "the busy switch could not be read");
        }
        let result = self
            .store
            .update_driver(
                account,
                Box::new(move |s| rules::submit_photo(s, upload, busy, now)),
            )
            .await;
        match result {
            Ok(state) => {
                tracing::info!(photo = photo_id, bytes = size, phase = ?state.phase, "photo uploaded");
                Ok(PhotoAccepted {
                    photo_id,
                    deadline,
                    application: application_view(&state),
                })
            }
            // Two uploads with one key raced: answer as the one that won.
            Err(Error::Store(StoreError::Conflict(_))) => self
                .repeated_upload(account, &p.client_key, digest)
                .await?
                .ok_or(Error::IdempotencyConflict),
            Err(e) => Err(e),
        }
    }

    async fn repeated_upload(
        &self,
        account: DriverId,
        client_key: &str,
        digest: [u8; 32],
    ) -> Result<Option<PhotoAccepted>> {
        let Some(existing) = self.store.photo_by_client_key(account, client_key).await? else {
            return Ok(None);
        };
        if !ct_eq(&existing.digest, &digest) {
            return Err(Error::IdempotencyConflict);
        }
        let state = self.load(account).await?;
        Ok(Some(PhotoAccepted {
            photo_id: existing.id,
            deadline: existing.deadline,
            application: application_view(&state),
        }))
    }

    /// Everything that changed since `cursor`, for a device that passed the real-person
    /// check (`checked`); a device not yet checked learns only that it must apply, and
    /// its cursor stays where it is so nothing is skipped once it passes (D76).
    #[instrument(skip(self))]
    pub async fn sync(
        &self,
        account: DriverId,
        cursor: u64,
        checked: bool,
    ) -> Result<SyncResponse> {
        let now = self.now();
        if !checked {
            let s = self.load(account).await?;
            let phase = match s.phase {
                // Issued, under review or awaiting a photo for another device: this one
                // must apply (with its real-person check) before it may upload (D121).
                // Stopped too: a stop after a malicious photo is the driver's to hear,
                // after the check (fourth hostile review, P1; D148).
                ApplicationPhase::Issued
                | ApplicationPhase::UnderReview
                | ApplicationPhase::AwaitingPhoto
                | ApplicationPhase::Stopped => ApplicationPhase::ReapplyNeeded,
                other => other,
            };
            return Ok(SyncResponse {
                cursor,
                more: false,
                server_time: now,
                licence: None,
                photo: None,
                elicence: None,
                application: Some(ApplicationView {
                    phase,
                    pending_review: None,
                }),
                reviews: Vec::new(),
                messages: Vec::new(),
                verifications: Vec::new(),
            });
        }
        let mut snap = self.snapshot(account, cursor).await?;
        // A credential due for re-signing is re-signed first, then read again with its
        // new version; the common case reads the driver once (D118).
        if self.refresh_credential(account, &snap.state, now).await? {
            snap = self.snapshot(account, cursor).await?;
        }
        let mut cursor = cursor;
        if cursor > snap.seq {
            // A cursor from the future (a restored phone, a reset server): start over.
            tracing::warn!(seq = snap.seq, "cursor from the future; sync starts over");
            cursor = 0;
            snap = self.snapshot(account, 0).await?;
        }
        let s = &snap.state;
        let more = snap.feed.len() > SYNC_PAGE as usize;
        snap.feed.truncate(SYNC_PAGE as usize);
        let next = if more {
            snap.feed.last().map(|r| r.seq).unwrap_or(cursor)
        } else {
            snap.seq
        };
        let photo = match &s.photo {
            Some(p) if s.versions.photo > cursor => {
                self.store.photo(p.photo_id).await?.map(|r| Base64(r.bytes))
            }
            _ => None,
        };
        let totp_seed = match &s.elicence {
            Some(e) if e.state == ElicenceState::Active && s.versions.elicence > cursor => {
                Some(Base64(self.open_totp(e.id, &e.seed)?.to_vec()))
            }
            _ => None,
        };
        let mut reviews = Vec::new();
        let mut messages: Vec<FeedMessage> = Vec::new();
        let mut verifications = Vec::new();
        for row in snap.feed {
            match row.event {
                FeedEvent::Message(m) => messages.push(m),
                FeedEvent::Review(r) => reviews.push(r),
                FeedEvent::Verification { entry, .. } => verifications.push(entry),
            }
        }
        tracing::debug!(
            next,
            more,
            messages = messages.len(),
            reviews = reviews.len(),
            verifications = verifications.len(),
            "sync answered"
        );
        Ok(SyncResponse {
            cursor: next,
            more,
            server_time: now,
            licence: (s.versions.licence > cursor).then(|| live_licence(&s.licence, now)),
            photo,
            elicence: s
                .elicence
                .as_ref()
                .filter(|_| s.versions.elicence > cursor)
                .map(|e| {
                    let active = e.state == ElicenceState::Active;
                    ElicenceUpdate {
                        elicence_id: ElicenceId(e.id),
                        state: e.state,
                        credential: active.then(|| e.credential.clone()),
                        totp_seed: totp_seed.clone().filter(|_| active),
                        issued_at: e.issued_at,
                        expires_at: e.expires_at,
                    }
                }),
            application: (s.versions.application > cursor).then(|| application_view(s)),
            reviews,
            messages,
            verifications,
        })
    }

    /// The driver's state and feed from `cursor`, read consistently.
    async fn snapshot(&self, account: DriverId, cursor: u64) -> Result<SyncSnapshot> {
        self.store
            .sync(account, cursor, SYNC_PAGE)
            .await?
            .ok_or(Error::UnknownId("driver"))
    }

    /// Re-signs the credential of `state` if it is past half its life or signed by a
    /// retired key, so the wallet always holds one that verifies offline; `true` if it tried
    /// (the caller reads the driver again).
    async fn refresh_credential(
        &self,
        account: DriverId,
        state: &DriverState,
        now: u64,
    ) -> Result<bool> {
        let Some(e) = &state.elicence else {
            return Ok(false);
        };
        let mut keys = self.recent_keys().await;
        if e.kid > keys.issuer.kid().0 {
            // Signed by a key this process has not seen yet: another one rotated.
            keys = self.signing_keys().await?;
        }
        if !rules::refresh_due(e, keys.issuer.kid().0, now) {
            return Ok(false);
        }
        let keys = self.signing_keys().await?;
        let kid = keys.issuer.kid().0;
        let ttl = self.ttl();
        // Decided again inside the write: another request may have re-signed it since
        // `state` was read, under a key newer than these (D142).
        let saved = self
            .store
            .update_driver(
                account,
                Box::new(move |s| rules::refresh(s, signing(&keys, now, ttl))),
            )
            .await?;
        match &saved.elicence {
            Some(e) if (e.kid, e.issued_at) == (kid, now) => {
                tracing::info!("credential re-signed");
            }
            Some(e) => tracing::debug!(kid = e.kid, "credential already re-signed"),
            None => {}
        }
        Ok(true)
    }
}
