//! The root-signed trust list and the signed status list, for offline verifiers (D71,
//! D72). Both are built from the store on each request, so a change of status is in the
//! next list anyone fetches: the request that made the change has committed it.

use edl_core::credential::{ElicenceStatus, StatusList};
use tracing::instrument;

use super::App;
use crate::error::{Error, Result};

impl App {
    /// The trust list signed by the root key: `TrustListContents::sign` bytes. Without a
    /// configured root there is none to serve.
    pub async fn signed_trust_list(&self) -> Result<Vec<u8>> {
        let root = self.config.root.as_ref().ok_or(Error::NotFound)?;
        Ok(root.sign(
            &self.recent_keys().await.trust,
            self.now(),
            self.config.next_root,
        ))
    }

    /// The status list signed now by the current issuing key: every index ever
    /// allocated, superseded unless its e-licence is in force or suspended.
    #[instrument(skip_all)]
    pub async fn status_list(&self) -> Result<Vec<u8>> {
        let entries = self.store.status_entries().await?;
        let now = u32::try_from(self.now()).unwrap_or(u32::MAX);
        let mut list = StatusList::filled(
            now,
            self.config.status_list_ttl,
            entries.count,
            ElicenceStatus::Superseded,
        );
        for (index, status) in entries.live {
            // An index past `count` cannot be stored; skipping it leaves it unknown.
            let _ = list.set(index, status);
        }
        Ok(self.signing_keys().await?.issuer.sign_status_list(&list))
    }
}
