//! `Verifier`: offline verification with a trust list, nothing else.

use edl_core::credential::TrustList;
use edl_core::present::payload_from_text;
use edl_core::verify::{Policy, verify_offline};

use crate::error::EdlError;
use crate::types::{Audience, VerifiedView};

/// A verifier of one audience with one trust list. Immutable after construction, so it is
/// `Send + Sync` without a lock and any number of threads may verify with it at once.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustList,
    policy: Policy,
}

impl Verifier {
    /// A verifier with the default skew.
    pub fn new(trust_list: Vec<u8>, audience: Audience) -> Result<Self, EdlError> {
        Ok(Verifier {
            trust: TrustList::decode(&trust_list).map_err(EdlError::trust_list)?,
            policy: Policy::new(audience.into()),
        })
    }

    /// A verifier tolerating `skew_secs` (the core caps it).
    pub fn with_skew(
        trust_list: Vec<u8>,
        audience: Audience,
        skew_secs: u32,
    ) -> Result<Self, EdlError> {
        let mut v = Verifier::new(trust_list, audience)?;
        v.policy = v.policy.with_skew(skew_secs);
        Ok(v)
    }

    /// The audience accepted.
    pub fn audience(&self) -> Audience {
        self.policy.audience.into()
    }

    /// The skew tolerated.
    pub fn skew_secs(&self) -> u32 {
        self.policy.skew()
    }

    /// Verifies an offline payload at `now_unix`.
    pub fn verify_offline(
        &self,
        payload: Vec<u8>,
        now_unix: u64,
    ) -> Result<VerifiedView, EdlError> {
        Ok(verify_offline(&payload, &self.trust, now_unix, &self.policy)?.into())
    }

    /// Verifies the text form of an offline payload at `now_unix`.
    pub fn verify_offline_text(
        &self,
        text: String,
        now_unix: u64,
    ) -> Result<VerifiedView, EdlError> {
        let payload = payload_from_text(&text).map_err(EdlError::payload_text)?;
        self.verify_offline(payload, now_unix)
    }
}
