//! The police officer's offline scanner in `edl demo`: the pinned root, the newest trust
//! list it accepted and the status list, refreshed from the authority when it has
//! network, then used with none.

use edl_core::credential::{StatusList, TrustAnchor, TrustList};
use edl_core::crypto::PublicKey;
use edl_core::wire::paths;

use crate::{http, lists};

/// Seconds a list's issue time may lie ahead of the scanner's clock.
const SKEW: u32 = 300;

/// What an offline verifier holds.
pub struct Scanner {
    anchor: TrustAnchor,
    status: Option<StatusList>,
}

impl Scanner {
    /// A scanner that pinned `root` (configured once, like a CA certificate).
    pub fn pinned(root: PublicKey) -> Self {
        Scanner {
            anchor: TrustAnchor::pinned(root),
            status: None,
        }
    }

    /// Fetches the signed trust list and the status list and keeps them if they verify:
    /// the trust list under the pinned root and never older than the held one, the status
    /// list under the trust list's keys. Returns one line saying what it holds.
    pub async fn refresh(&mut self, url: &str, now: u64) -> Result<String, String> {
        let signed = http::bytes(url, paths::SIGNED_TRUST_LIST).await?;
        self.anchor
            .accept(&signed, now, SKEW)
            .map_err(|e| format!("trust list refused: {e}"))?;
        let bytes = http::bytes(url, paths::STATUS_LIST).await?;
        let list = StatusList::verify(&bytes, self.trust(now)?)
            .map_err(|e| format!("status list refused: {e}"))?;
        let line = format!(
            "trust list {} under the pinned root, {}",
            self.anchor.sequence().unwrap_or_default(),
            lists::describe_status(&list)
        );
        self.status = Some(list);
        Ok(line)
    }

    /// The issuing keys of the held trust list, if it has not expired.
    pub fn trust(&self, now: u64) -> Result<&TrustList, String> {
        self.anchor
            .trust_list(now)
            .map_err(|e| format!("trust list: {e}"))
    }

    /// The held status list.
    pub fn status(&self) -> Option<&StatusList> {
        self.status.as_ref()
    }
}
