//! The issuer: signs the views of an e-licence with its current key.

use crate::crypto::{self, KeyId, SecretKey};
use crate::licence::Licence;

use super::signed::view_purpose;
use super::view::{BusinessView, EnforcementView, ViewHeader};
use super::{Audience, Credential, CredentialError, ElicenceId, TrustedKey};

/// An issuer signing key with its id. Used by the authority; tests and benchmarks use it
/// to make real credentials.
#[derive(Debug)]
pub struct Issuer {
    kid: KeyId,
    key: SecretKey,
}

/// What to put in a credential besides the licence.
#[derive(Debug, Clone, Copy)]
pub struct Issuance {
    /// The new e-licence id.
    pub id: ElicenceId,
    /// The wallet's device key.
    pub device_key: crypto::PublicKey,
    /// Issue time, unix seconds (the as-of time of the status).
    pub issued_at: u32,
    /// Lifetime in hours.
    pub ttl_hours: u16,
    /// The e-licence's index in the status list.
    pub status_index: u32,
}

impl Issuer {
    /// An issuer with key `key` known as `kid`.
    pub fn new(kid: KeyId, key: SecretKey) -> Self {
        Issuer { kid, key }
    }

    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// Signs `list` with this key (see [`super::StatusList::sign`]).
    pub fn sign_status_list(&self, list: &super::StatusList) -> Vec<u8> {
        list.sign(self.kid, &self.key)
    }

    /// This key as a trust-list entry valid from `not_before`.
    pub fn trusted_key(&self, not_before: u32) -> TrustedKey {
        TrustedKey {
            kid: self.kid,
            key: self.key.public(),
            not_before,
            not_after: u32::MAX,
        }
    }

    /// Issues the credential for `licence`: checks the licence, builds both views and
    /// signs each under its own audience tag.
    pub fn issue(
        &self,
        licence: &Licence,
        issuance: Issuance,
    ) -> Result<Credential, CredentialError> {
        licence
            .validate()
            .map_err(|_| CredentialError::InvalidField("licence"))?;
        if issuance.ttl_hours == 0 || issuance.ttl_hours > super::MAX_VIEW_LIFETIME_HOURS {
            return Err(CredentialError::InvalidField("ttl_hours"));
        }
        if issuance.status_index >= super::MAX_STATUS_ENTRIES {
            return Err(CredentialError::InvalidField("status_index"));
        }
        let header = ViewHeader {
            kid: self.kid,
            device_key: issuance.device_key,
            issued_at: issuance.issued_at,
            ttl_hours: issuance.ttl_hours,
            status_index: issuance.status_index,
        };
        let enforcement = EnforcementView {
            header,
            id: issuance.id,
            licence: licence.clone(),
        }
        .encode()?;
        let business = BusinessView::from_licence(header, licence)?.encode()?;
        Ok(Credential {
            enforcement: self.sign(Audience::Enforcement, enforcement),
            business: self.sign(Audience::Business, business),
        })
    }

    fn sign(&self, audience: Audience, body: Vec<u8>) -> super::SignedView {
        let sig = crypto::sign(&self.key, view_purpose(audience), &body);
        super::SignedView::new(audience, body, sig)
    }
}
