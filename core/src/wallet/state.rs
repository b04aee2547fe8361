//! What the wallet keeps in its store: the names and shapes of its documents, secrets and
//! lists (all sealed at rest by the store).

use serde::{Deserialize, Serialize};

use crate::credential::ElicenceId;
use crate::wire::{Base64, ElicenceState, elicence_id};

/// Document: the enrolment.
pub(crate) const ENROLMENT: &str = "enrolment";
/// Secret: the device signing key seed (32 bytes).
pub(crate) const DEVICE_KEY: &str = "device_key";
/// Document: the enrolment under way ([`PendingEnrolment`]); its device key seed is the
/// secret [`PENDING_DEVICE_KEY`]. Both are stored before the enrolment is sent and removed
/// when the enrolment is stored (AN-F2).
pub(crate) const PENDING_ENROLMENT: &str = "pending_enrolment";
/// Secret: the device key seed of the enrolment under way (32 bytes).
pub(crate) const PENDING_DEVICE_KEY: &str = "pending_device_key";
/// Secret: the TOTP seed of the current e-licence (32 bytes).
pub(crate) const TOTP_SEED: &str = "totp_seed";
/// Document: `TrustList::encode()` bytes.
pub(crate) const TRUST_LIST: &str = "trust_list";
/// Document: the pinned root and the signed trust and status lists (`trust::StoredLists`).
pub(crate) const TRUST_LISTS: &str = "signed_lists";
/// Document: [`SyncState`].
pub(crate) const SYNC_STATE: &str = "sync_state";
/// Document: the licence (both pages).
pub(crate) const LICENCE: &str = "licence";
/// Document: the approved photo bytes.
pub(crate) const PHOTO: &str = "photo";
/// Document: [`StoredElicence`].
pub(crate) const ELICENCE: &str = "elicence";
/// Document: the application as last seen.
pub(crate) const APPLICATION: &str = "application";
/// Document: the last photo submission.
pub(crate) const PHOTO_SUBMISSION: &str = "photo_submission";
/// List: feed messages.
pub(crate) const MESSAGES: &str = "messages";
/// List: checks of the e-licence by verifiers.
pub(crate) const VERIFICATION_LOG: &str = "verification_log";
/// List: photo review results.
pub(crate) const PHOTO_REVIEWS: &str = "photo_reviews";

/// Who the wallet is at the authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Base URL of the authority.
    pub authority_url: String,
    /// The account id the authority assigned.
    pub account_id: u64,
    /// The driver's licence number.
    pub licence_number: String,
}

/// An enrolment sent and not yet stored: for which licence at which authority its device
/// key ([`PENDING_DEVICE_KEY`]) was made. Enrolling the same again uses the same key, which
/// the authority then answers as enrolled if the earlier request reached it (AN-F2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingEnrolment {
    /// Base URL of the authority, without a trailing slash.
    pub authority_url: String,
    /// The driver's licence number.
    pub licence_number: String,
}

/// Where sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// The authority's cursor after the last sync.
    pub cursor: u64,
    /// Authority clock minus the phone's clock, in seconds, as of the last exchange.
    pub clock_offset: i64,
    /// When the last sync completed (authority clock, unix seconds).
    pub last_synced: Option<u64>,
}

/// The e-licence as stored (the TOTP seed is a separate secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredElicence {
    /// Its id.
    #[serde(with = "elicence_id")]
    pub id: ElicenceId,
    /// Whether it verifies.
    pub state: ElicenceState,
    /// `Credential::encode()` bytes while active.
    pub credential: Option<Base64>,
    /// When it was signed.
    pub issued_at: u64,
    /// When it expires.
    pub expires_at: u64,
}
