//! Storage behind a narrow trait, so the handlers never see SQL.
//!
//! A driver is one aggregate ([`DriverState`]): licence, device key, photo on file,
//! e-licence and application. Every change to it goes through
//! [`RegistryStore::update_driver`], which loads it, applies a pure closure and saves the result
//! together with its side effects ([`Effects`]) atomically; the business rules live in
//! those closures (named functions of `crate::domain::rules`), not in the store. Append-only data (the feed of
//! messages, review results and verification log entries; nonces; photos) has its own
//! narrow calls. SQLite ([`sqlite::SqliteStore`]) is the embedded default;
//! [`postgres::PgStore`] implements the same trait (`SELECT … FOR UPDATE` around the
//! closure, a JSONB column for the aggregate) and no handler changes.

pub mod budget;
pub mod columns;
pub mod held;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use edl_core::credential::ElicenceStatus;
use edl_core::licence::Licence;
use edl_core::wire::{
    ApplicationPhase, ElicenceState, FeedMessage, ReviewKind, ReviewPending, ReviewResult,
    VerificationLogEntry, VerifierClass,
};
use serde::{Deserialize, Serialize};

use crate::error::Error;

pub use budget::{Budget, GuessLimits, Refused};

/// A driver's id, which is also the wallet's account id.
pub type DriverId = u64;

/// Why the store failed. Never carries request data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value does not decode.
    #[error("corrupt stored value: {0}")]
    Corrupt(&'static str),
    /// A uniqueness rule was broken (duplicate licence number, idempotency key).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The store is shutting down.
    #[error("store closed")]
    Closed,
    /// The write was rolled back with its batch after a fault in the writer (a job
    /// panicked); nothing of it was kept and the caller may retry.
    #[error("write abandoned after a fault; retry")]
    Aborted,
    /// PostgreSQL reported an error (its SQLSTATE only: the message may quote data).
    #[error("postgres: {0}")]
    Postgres(String),
    /// The database cannot be reached (after bounded retries), or a commit's outcome is
    /// unknown; the caller may retry later.
    #[error("database unavailable; retry")]
    Unavailable,
    /// The write was refused, not made: the database has held the writer's commit past
    /// the stall bound (D179). The caller may retry later; nothing of it was kept.
    #[error("database holds a commit; write refused; retry")]
    Held,
    /// The check would go past a limit every process shares ([`GuessLimits`], D163):
    /// nothing of it was written. Seconds to wait.
    #[error("failed-check limit reached")]
    OverBudget(Refused),
}

/// One connection pool of the store as it is now, for `/metrics` (AR-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Which pool: `read` or `writer`.
    pub name: &'static str,
    /// The most connections it opens.
    pub max: usize,
    /// The connections it holds now, in use or idle.
    pub size: usize,
    /// Of those, the idle ones.
    pub idle: usize,
    /// Calls waiting for a connection.
    pub waiting: usize,
}

/// 32 bytes stored as hex in the aggregate's JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bytes32(pub [u8; 32]);

impl std::fmt::Debug for Bytes32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Seeds and hashes must not reach logs through a derived Debug.
        f.write_str("Bytes32(..)")
    }
}

impl Serialize for Bytes32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Bytes32(out))
    }
}

/// A TOTP seed as stored: sealed under the key-encryption key like the issuing seeds
/// (`seal.rs`, D83), bound to its e-licence id. A 32-byte value is a plain seed stored
/// before sealing existed. Hex in the aggregate's JSON; redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSeed(pub Vec<u8>);

impl std::fmt::Debug for SealedSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSeed(..)")
    }
}

impl Serialize for SealedSeed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for SealedSeed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text)
            .map(SealedSeed)
            .map_err(serde::de::Error::custom)
    }
}

/// The approved photo on file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoOnFile {
    /// Its id.
    pub photo_id: u64,
    /// SHA-256 of its bytes (the licence's `photo_digest`).
    pub digest: Bytes32,
    /// When it was approved.
    pub approved_at: u64,
}

/// The driver's current (or last) e-licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElicenceRecord {
    /// Its id.
    pub id: u64,
    /// The TOTP seed of its online codes, sealed.
    pub seed: SealedSeed,
    /// Whether it verifies.
    pub state: ElicenceState,
    /// `Credential::encode()` of the latest credential.
    pub credential: edl_core::wire::Base64,
    /// When that credential was signed.
    pub issued_at: u64,
    /// When it expires.
    pub expires_at: u64,
    /// The issuer key that signed it.
    pub kid: u16,
    /// Its index in the signed status list ([`UNINDEXED`] for an e-licence issued
    /// before status lists: no list covers it, so offline it reads "status unknown").
    #[serde(default = "unindexed")]
    pub status_index: u32,
}

/// The status index of an e-licence issued before status lists: the highest index a
/// credential can carry, which the allocator never hands out, so no list covers it and
/// its reissued credentials read "status unknown" offline until the next new e-licence.
pub const UNINDEXED: u32 = edl_core::credential::MAX_STATUS_ENTRIES - 1;

fn unindexed() -> u32 {
    UNINDEXED
}

impl DriverState {
    /// The current e-licence's status-list entry, from its state and the licence's
    /// status letters (D71): active and eligible is in force; a block that can end
    /// (suspended, detained, over points, locked…) is suspended; annulled, revoked,
    /// cancelled, transferred out, a stopped or superseded e-licence are not in force
    /// for good. Validity dates are not judged here: the credential carries them.
    pub fn status_entry(&self) -> Option<(u32, ElicenceStatus)> {
        let e = self.elicence.as_ref()?;
        if e.status_index == UNINDEXED {
            return None;
        }
        let status = match e.state {
            ElicenceState::Active => ElicenceStatus::of_letters(&self.licence.main.status),
            ElicenceState::Superseded | ElicenceState::Stopped => ElicenceStatus::Superseded,
        };
        Some((e.status_index, status))
    }
}

/// What the status list is built from: how many indices were ever allocated, and the
/// e-licences currently not superseded (every other index reads as superseded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusEntries {
    /// Indices allocated so far (the list's length).
    pub count: u32,
    /// `(index, status)` of each e-licence that is in force or suspended.
    pub live: Vec<(u32, ElicenceStatus)>,
}

/// A one-time activation code, stored as its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// SHA-256 of the code.
    pub code_hash: Bytes32,
    /// Unix seconds.
    pub expires_at: u64,
    /// No longer counted (a wrong code changes nothing stored: AH-F2, D197); kept so that
    /// stored records read alike.
    #[serde(default)]
    pub attempts: u32,
}

/// The last enrolment, kept until its code would have expired, so the same device asking
/// again with the same code (its answer lost, its store not written) is answered as
/// enrolled (AN-F2, D212). A field of its own, not a mark on the used [`Activation`]: a
/// process from before D212 reading the record sees no code (the activation is cleared
/// as ever), and one that drops this field on a write only loses the repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledWith {
    /// SHA-256 of the code used.
    pub code_hash: Bytes32,
    /// The device key it enrolled.
    pub device_key: Bytes32,
    /// Unix seconds: the code's own expiry.
    pub expires_at: u64,
}

/// An outstanding real-person check challenge (one per driver; a new one replaces it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Its id.
    pub id: u64,
    /// The random challenge bytes.
    pub nonce: Bytes32,
    /// Unix seconds.
    pub expires_at: u64,
}

/// The seq at which each part of the aggregate last changed: sync sends a part when its
/// version is past the wallet's cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    /// Both pages.
    pub licence: u64,
    /// The photo on file.
    pub photo: u64,
    /// The e-licence.
    pub elicence: u64,
    /// The application.
    pub application: u64,
}

impl Versions {
    /// A new driver's: every part at seq 1, the seq its row is created with, so that its
    /// first sync (cursor 0) gets all of them. Both backends create drivers with these.
    pub const AT_CREATION: Versions = Versions {
        licence: 1,
        photo: 1,
        elicence: 1,
        application: 1,
    };
}

/// One driver: the registry's licence and the e-licence state around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverState {
    /// The id (not stored in the JSON; the row key).
    #[serde(skip)]
    pub id: DriverId,
    /// Both pages as the registry holds them.
    pub licence: Licence,
    /// The enrolled device's public key.
    pub device_key: Option<Bytes32>,
    /// The device key that passed the real-person check (re-application from the same
    /// device needs no new check).
    pub identity_key: Option<Bytes32>,
    /// The approved photo on file.
    pub photo: Option<PhotoOnFile>,
    /// The current or last e-licence.
    pub elicence: Option<ElicenceRecord>,
    /// The application.
    pub phase: ApplicationPhase,
    /// A photo being reviewed.
    pub pending_review: Option<ReviewPending>,
    /// The outstanding activation code.
    pub activation: Option<Activation>,
    /// The last enrolment, for the same device's repeat until its code would expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_with: Option<EnrolledWith>,
    /// The outstanding real-person check challenge.
    pub challenge: Option<Challenge>,
    /// Part versions (maintained by the store).
    #[serde(default)]
    pub versions: Versions,
    /// When the wallet's photo uploads of the last day were taken (the daily quota, D82).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_uploads: Vec<u64>,
}

impl DriverState {
    /// A new driver with `licence` and nothing else.
    pub fn new(licence: Licence) -> Self {
        DriverState {
            id: 0,
            licence,
            device_key: None,
            identity_key: None,
            photo: None,
            elicence: None,
            phase: ApplicationPhase::NotApplied,
            pending_review: None,
            activation: None,
            enrolled_with: None,
            challenge: None,
            versions: Versions::default(),
            recent_uploads: Vec::new(),
        }
    }
}

/// Review status of a stored photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoStatus {
    /// In the review queue.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Rejected as malicious.
    Malicious,
    /// Replaced by a newer upload before review.
    Withdrawn,
}

impl PhotoStatus {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoStatus::Pending => "pending",
            PhotoStatus::Approved => "approved",
            PhotoStatus::Rejected => "rejected",
            PhotoStatus::Malicious => "malicious",
            PhotoStatus::Withdrawn => "withdrawn",
        }
    }

    /// Inverse of [`PhotoStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            PhotoStatus::Pending,
            PhotoStatus::Approved,
            PhotoStatus::Rejected,
            PhotoStatus::Malicious,
            PhotoStatus::Withdrawn,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRow {
    /// Its id.
    pub id: u64,
    /// Whose.
    pub driver_id: DriverId,
    /// The wallet's idempotency key (none for admin and counter photos).
    pub client_key: Option<String>,
    /// SHA-256 of the bytes.
    pub digest: [u8; 32],
    /// JPEG or PNG bytes.
    pub bytes: Vec<u8>,
    /// Why it was uploaded.
    pub kind: ReviewKind,
    /// Review status.
    pub status: PhotoStatus,
    /// Upload time.
    pub submitted_at: u64,
    /// Review deadline.
    pub deadline: u64,
}

/// A review decision on a stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoDecision {
    /// Which photo.
    pub photo_id: u64,
    /// The new status.
    pub status: PhotoStatus,
    /// When.
    pub decided_at: u64,
}

/// An entry of the driver's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A message.
    Message(FeedMessage),
    /// A photo review result.
    Review(ReviewResult),
    /// A check by a verifier.
    Verification {
        /// Who checked (kept for rebuilding lock-outs after a restart).
        verifier_id: u64,
        /// What the driver sees.
        entry: VerificationLogEntry,
    },
}

/// What a driver change does besides changing the aggregate; saved in the same
/// transaction.
#[derive(Debug, Default)]
pub struct Effects {
    /// Feed entries to append.
    pub feed: Vec<FeedEvent>,
    /// A photo to store.
    pub new_photo: Option<PhotoRow>,
    /// Review status changes of stored photos.
    pub photo_decisions: Vec<PhotoDecision>,
    /// Stored photos whose bytes nothing needs any more (withdrawn, rejected, replaced on
    /// file): the store empties their bytes and keeps the row (its digest answers a
    /// repeated upload) (D82).
    pub discard_photo_bytes: Vec<u64>,
    /// Save the change but answer with this error (a burnt activation code, a consumed
    /// challenge).
    pub refuse: Option<Error>,
}

/// A change to one driver: a pure function of the aggregate.
pub type DriverChange = Box<dyn FnOnce(&mut DriverState) -> Result<Effects, Error> + Send>;

/// An issuer key as stored. The secret stays in the database: see `docs/DECISIONS.md`
/// (a deployment would keep it in an HSM).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerKeyRow {
    /// Key id.
    pub kid: u16,
    /// The Ed25519 secret seed, sealed under the key-encryption key (`seal.rs`, D64); 32
    /// bytes is a plain seed stored before sealing.
    pub seed: Vec<u8>,
    /// Valid from.
    pub not_before: u32,
    /// Valid until (`u32::MAX` while current).
    pub not_after: u32,
}

impl std::fmt::Debug for IssuerKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeyRow")
            .field("kid", &self.kid)
            .field("seed", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// What an online check needs to know about an e-licence id: its row and its holder's
/// aggregate, read together in one snapshot (one round trip, D115).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElicenceRef {
    /// Its TOTP seed, sealed.
    pub seed: SealedSeed,
    /// Whether it verifies.
    pub state: ElicenceState,
    /// The holder's aggregate as of the same snapshot as the row (whose it is: `holder.id`).
    pub holder: DriverState,
}

/// A verifier account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierRow {
    /// Its id.
    pub id: u64,
    /// Shown to drivers.
    pub name: String,
    /// Its class.
    pub class: VerifierClass,
}

/// A verifier account as the registry lists it (D196): never its key's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierAccountRow {
    /// Its id, name and class.
    pub verifier: VerifierRow,
    /// When it was made (unix seconds).
    pub created_at: u64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<u64>,
}

/// What a revoked verifier's key hash is replaced with (D194): a value no SHA-256 of a key
/// is (a marker and the account's id), distinct per account as the column must be. So the
/// key is refused by every build on the database, one older than D194 or rolled back to
/// included, which does not know `revoked_at` (twenty-third review, AD-F5).
pub fn revoked_key_hash(id: u64) -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(b"edl:revoked:key:");
    hash[16..24].copy_from_slice(&id.to_be_bytes());
    hash
}

/// A stored feed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    /// Its seq in the driver's sequence.
    pub seq: u64,
    /// The entry.
    pub event: FeedEvent,
}

/// One consistent read for sync.
#[derive(Debug, Clone)]
pub struct SyncSnapshot {
    /// The aggregate.
    pub state: DriverState,
    /// The driver's latest seq.
    pub seq: u64,
    /// Feed entries past the cursor, oldest first, at most `limit + 1`.
    pub feed: Vec<FeedRow>,
}

/// A failed online check, kept to rebuild lock-outs after a restart (D81).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// Who failed.
    pub verifier_id: u64,
    /// What the check named (`crate::limiter`): `d:<driver id>`, or a key for a licence
    /// number or e-licence id that names nobody (never the number itself).
    pub target: String,
    /// When.
    pub at: u64,
}

/// The failed checks every process stored on one target and by one verifier since a time
/// (D158): their times, oldest first, at most [`RECENT_FAILURES`] of each (the newest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentFailures {
    /// On the target, by any verifier.
    pub on_target: Vec<u64>,
    /// By the verifier, on any target.
    pub by_verifier: Vec<u64>,
}

/// The most failures [`RegistryStore::recent_check_failures`] reads of each kind: far more
/// than any limit counts (`CheckLimits`), so the newest that decide are always among them.
pub const RECENT_FAILURES: u32 = 256;

/// One admin call in the audit log (D78): who, what, when; no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: u64,
    /// The token holder's name.
    pub actor: String,
    /// The role the endpoint needs.
    pub role: String,
    /// Method and route template.
    pub action: String,
    /// The id in the path (a driver or photo id), if any.
    pub target: Option<u64>,
    /// Whether the token had the role.
    pub allowed: bool,
}

/// A stored [`AuditEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its place in the log, strictly increasing.
    pub seq: u64,
    /// The entry.
    pub entry: AuditEntry,
}

/// The name of one enrolment back-off counter in the store (D156): the first 16 bytes of a
/// digest keyed by the KEK ([`crate::seal::KeyedDigest`]) of a licence number or of a
/// source address, each under a label of its own; never either in clear.
pub type BackoffKey = [u8; 16];

/// One enrolment back-off counter as stored (D75, D156); what it means is
/// `crate::throttle`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffEntry {
    /// Attempts counted since the count last started over.
    pub attempts: u32,
    /// When the last of them was counted (Unix seconds).
    pub last: u64,
    /// No attempt goes through before this (Unix seconds).
    pub locked_until: u64,
    /// From this time on the entry means nothing (no wait left, and its count would start
    /// over), so the store deletes it when it prunes (Unix seconds).
    pub expires_at: u64,
}

/// A change to enrolment back-off counters: a pure function of their stored entries, in
/// the order their keys were given (`None`: no row), that changes them in place (`None`
/// deletes the row). Its error leaves every counter as it was. It may run more than once:
/// a PostgreSQL transaction that met a concurrent one is redone with what that one saved.
pub type BackoffChange =
    Arc<dyn Fn(&mut [Option<BackoffEntry>]) -> Result<(), Error> + Send + Sync>;

/// The storage the server runs on.
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    /// Every issuer key, oldest first.
    async fn issuer_keys(&self) -> Result<Vec<IssuerKeyRow>, StoreError>;
    /// Adds `key` as the current key and retires the others at its `not_before`.
    async fn rotate_issuer_key(&self, key: IssuerKeyRow) -> Result<(), StoreError>;

    /// Stores a new driver (and a photo on file); `Conflict` on a duplicate licence
    /// number.
    async fn create_driver(
        &self,
        state: DriverState,
        photo: Option<PhotoRow>,
    ) -> Result<DriverId, StoreError>;
    /// One driver.
    async fn driver(&self, id: DriverId) -> Result<Option<DriverState>, StoreError>;
    /// The driver holding `licence_number`.
    async fn driver_by_licence_number(
        &self,
        licence_number: &str,
    ) -> Result<Option<DriverState>, StoreError>;
    /// Applies `change` to the driver atomically and returns the saved aggregate.
    /// `UnknownId` if there is no such driver.
    async fn update_driver(&self, id: DriverId, change: DriverChange)
    -> Result<DriverState, Error>;
    /// What an online check needs about e-licence `id`: its row and its holder, read in
    /// one snapshot.
    async fn elicence(&self, id: u64) -> Result<Option<ElicenceRef>, StoreError>;
    /// A new, never used status-list index (indices grow from 0; one may be wasted if
    /// the issuance that asked for it fails, and then reads as superseded).
    async fn allocate_status_index(&self) -> Result<u32, StoreError>;
    /// The status list's inputs, read consistently: the store keeps each e-licence's
    /// entry ([`DriverState::status_entry`]) in step within `update_driver`.
    async fn status_entries(&self) -> Result<StatusEntries, StoreError>;

    /// One stored photo.
    async fn photo(&self, id: u64) -> Result<Option<PhotoRow>, StoreError>;
    /// The driver's photo uploaded with `client_key`.
    async fn photo_by_client_key(
        &self,
        driver: DriverId,
        client_key: &str,
    ) -> Result<Option<PhotoRow>, StoreError>;
    /// The oldest pending photos.
    async fn pending_photos(&self, limit: u32) -> Result<Vec<PhotoRow>, StoreError>;

    /// The driver's state and feed past `cursor`, read consistently.
    async fn sync(
        &self,
        driver: DriverId,
        cursor: u64,
        limit: u32,
    ) -> Result<Option<SyncSnapshot>, StoreError>;

    /// Stores a verifier account with the SHA-256 of its API key.
    async fn create_verifier(
        &self,
        name: &str,
        class: VerifierClass,
        key_hash: [u8; 32],
        now: u64,
    ) -> Result<u64, StoreError>;
    /// The verifier whose API key hashes to `key_hash`; `None` for a revoked one too.
    async fn verifier_by_key_hash(
        &self,
        key_hash: [u8; 32],
    ) -> Result<Option<VerifierRow>, StoreError>;
    /// Revokes verifier `id` at `now` (D194): its key is found no more, its hash replaced
    /// by [`revoked_key_hash`] so that no build finds it either. The account as revoked
    /// (its `revoked_at` the first revocation's time if it was before); `None` if there is
    /// no such verifier.
    async fn revoke_verifier(
        &self,
        id: u64,
        now: u64,
    ) -> Result<Option<VerifierAccountRow>, StoreError>;
    /// Up to `limit` verifier accounts whose id is above `after`, by id (D196), revoked
    /// ones included.
    async fn verifiers(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<VerifierAccountRow>, StoreError>;

    /// Records a wallet request nonce; `false` if the account used it before. Answered
    /// once durable (group commit).
    async fn record_nonce(
        &self,
        account: DriverId,
        nonce: [u8; 16],
        timestamp: u64,
    ) -> Result<bool, StoreError>;
    /// Appends a check to the driver's verification log. Answered once durable. With
    /// `spends`, the entry records that it spent that online code, and who spent it
    /// (D106, D108), durably and once across restarts and processes: if the code was
    /// spent before, nothing is written and the answer says whether this is the same
    /// verifier's repeat within `guard::REPEAT_SECS` of that spend ([`Claim::on_spent`],
    /// with `entry.at` as now). Without `spends`, always [`Claim::Fresh`].
    ///
    ///
    /// With `budget`, the entry is written only if the failures every process stored on
    /// its target and by `verifier_id` leave room under its limits at that moment, in the
    /// order the database takes the writes (D163); otherwise nothing is written and the
    /// answer is [`StoreError::OverBudget`].
    ///
    /// [`Claim::on_spent`]: crate::guard::Claim::on_spent
    /// [`Claim::Fresh`]: crate::guard::Claim::Fresh
    async fn log_verification(
        &self,
        driver: DriverId,
        verifier_id: u64,
        entry: VerificationLogEntry,
        spends: Option<crate::guard::CodeKey>,
        budget: Option<Budget>,
    ) -> Result<crate::guard::Claim, StoreError>;
    /// Who spent online code `code`, if the database knows (`None` for a row older than
    /// D108), and when; `None` if it is not spent (or was swept). A read only, never a
    /// claim: asked for a code past its windows that its spender may be sending again
    /// (D186), which must not be spent by the asking.
    async fn code_spender(
        &self,
        code: crate::guard::CodeKey,
    ) -> Result<Option<(Option<u64>, u64)>, StoreError>;
    /// Records a failed online check (and, for a real driver, its entry in the driver's
    /// verification log) in one write. Answered once durable: a probe counts even if the
    /// server stops the next moment. The failure is written only if it fits `limits`
    /// with every process's failures stored before it (D163); otherwise nothing is
    /// written and the answer is [`StoreError::OverBudget`].
    async fn record_check_failure(
        &self,
        failure: CheckFailure,
        log: Option<(DriverId, VerificationLogEntry)>,
        limits: GuessLimits,
    ) -> Result<(), StoreError>;
    /// Failed checks since `since`, oldest first.
    async fn check_failures_since(&self, since: u64) -> Result<Vec<CheckFailure>, StoreError>;
    /// The failed checks since `since` (every process's) on `target` and by `verifier_id`
    /// (D158), read after a failure is stored and before an answer decided without the
    /// writer. PostgreSQL reads them once the batches still storing such failures in other
    /// processes are done (D165, L-F4); SQLite reads what is committed (one writer per file
    /// is its deployment, DEPLOYMENT.md).
    async fn recent_check_failures(
        &self,
        verifier_id: u64,
        target: &str,
        since: u64,
    ) -> Result<RecentFailures, StoreError>;

    /// The enrolment back-off counters `keys` as stored, in that order (`None`: no row). A
    /// read only: an attempt refused from it writes nothing, so a caller who sends
    /// enrolments during a wait costs no write (D156).
    async fn enrol_backoff(
        &self,
        keys: &[BackoffKey],
    ) -> Result<Vec<Option<BackoffEntry>>, StoreError>;
    /// Applies `change` to the enrolment back-off counters `keys` (distinct) and saves the
    /// result, atomically for every process on the database: no other change of any of
    /// these counters comes between the entries `change` is given and the ones it saves,
    /// so parallel attempts are counted one after the other (D156). `change`'s error
    /// writes nothing and is returned. Answered once durable; rows expired at
    /// [`BackoffEntry::expires_at`] are deleted with the nonces.
    async fn update_enrol_backoff(
        &self,
        keys: &[BackoffKey],
        change: BackoffChange,
    ) -> Result<(), Error>;

    /// Appends an admin call to the audit log, which is never updated or deleted;
    /// returns its sequence number. Answered once durable.
    async fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError>;
    /// Audit entries after sequence number `after`, oldest first, at most `limit`.
    async fn audit_log(&self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;

    /// The busy switch for photo changes: `Some(retry_after)` while it is set. One for every
    /// process on the database, kept across restarts (D174).
    async fn busy(&self) -> Result<Option<u32>, StoreError>;
    /// Sets (`Some(retry_after)`) or clears (`None`) the busy switch.
    async fn set_busy(&self, retry_after: Option<u32>) -> Result<(), StoreError>;

    /// The group-committing writer's totals so far (transactions committed, writes in
    /// them), for `/metrics`; `None` (the default) for a store that does not count them.
    fn writer_counts(&self) -> Option<(u64, u64)> {
        None
    }

    /// How long the group-committing writer has been on the batch in hand; `None` between
    /// batches, or for a store without one (the default). A batch held far longer than
    /// any commit takes means the database is holding its commit (D179).
    fn writer_held_for(&self) -> Option<std::time::Duration> {
        None
    }

    /// How long the group-committing writer has been on the batch in hand, whatever it
    /// waits for (a commit held, a row another session holds, a server that does not
    /// answer); `None` between batches. `/readyz` is not ready past the stall bound even
    /// when no request waits any more (AR-1). The default is [`Self::writer_held_for`],
    /// for a store whose held clock covers its whole batch.
    fn writer_busy_for(&self) -> Option<std::time::Duration> {
        self.writer_held_for()
    }

    /// Metrics the store keeps itself, registered with the server's at start: its
    /// writer's batch shape ([`held::BatchShape`]); none by default.
    fn writer_collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        Vec::new()
    }

    /// The store's connection pools as they are now (`/metrics`); none (the default) for
    /// a store without pools of its own.
    fn pool_use(&self) -> Vec<PoolUse> {
        Vec::new()
    }

    /// Whether the database takes writes now: `false` for a standby or a database set
    /// read-only, which refuses every write (`/readyz` says so, AR-3). `true` (the
    /// default) for a store that is always writable.
    async fn takes_writes(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// The database server's clock, in Unix seconds, for a store whose processes may run
    /// on other hosts than its server (PostgreSQL: `/readyz` compares it with the
    /// process's, D182); `None` (the default) for one whose processes share a host.
    async fn database_time(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_key_hash_is_one_per_account_and_no_key_s_hash() {
        assert_ne!(revoked_key_hash(1), revoked_key_hash(2));
        assert_ne!(revoked_key_hash(1), revoked_key_hash(1 << 40));
        assert_eq!(
            revoked_key_hash(7),
            revoked_key_hash(7),
            "revoking again is the same"
        );
        // What `create_verifier` stores is a key's SHA-256; the marker is text no digest is
        // expected to start with, and its last eight bytes are zero.
        let key_hash = edl_core::crypto::sha256(b"edlv_0123");
        assert_ne!(revoked_key_hash(7), key_hash);
        assert!(revoked_key_hash(u64::MAX).starts_with(b"edl:revoked:key:"));
        assert_eq!(revoked_key_hash(u64::MAX)[24..], [0u8; 8]);
    }
}
