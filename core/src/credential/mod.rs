//! The signed e-licence: per-audience views signed by the issuer, the trust list that
//! verifies them, and the issuer that makes them.
//!
//! A [`Credential`] is two views of one licence, both bound to the same device key:
//! the enforcement view (every field of both pages) and the business view (what an
//! insurer, rental firm or employer may see). The business view is small enough to sit
//! in a version-10 QR symbol together with a device signature.

mod audience;
mod error;
mod issuer;
mod root;
mod signed;
mod status;
mod trust;
pub mod view;

pub use audience::{Audience, ElicenceId};
pub use error::CredentialError;
pub use issuer::{Issuance, Issuer};
pub use root::{TrustAnchor, TrustListContents, TrustListRejection, open_trust_list};
pub use signed::{Credential, SignedView};
pub use status::{
    ElicenceStatus, MAX_STATUS_ENTRIES, MAX_STATUS_LIST_TTL, StatusAnswer, StatusList,
    StatusListError,
};
pub use trust::{TrustList, TrustedKey};
pub use view::{BusinessView, DisclosedView, EnforcementView, MAX_VIEW_LIFETIME_HOURS, ViewHeader};
