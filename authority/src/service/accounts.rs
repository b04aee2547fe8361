//! Verifier accounts, the issuer keys and their trust list, and the busy switch.

use edl_core::crypto::sha256;
use edl_core::wire::{
    BusySetting, NewVerifier, TrustListResponse, VerifierAccount, VerifierAccounts,
    VerifierCreated, VerifierRevoked,
};
use tracing::instrument;

use std::sync::Arc;

use super::{App, text, to_the_end};
use crate::error::{Error, Result};
use crate::random;
use crate::store::{StoreError, VerifierRow};

/// The most verifier accounts one page of `GET /admin/verifiers` lists (D196).
pub const MAX_VERIFIERS_PAGE: u32 = 500;

impl App {
    /// A verifier account and its API key.
    #[instrument(skip_all, fields(class = ?v.class))]
    pub async fn create_verifier(&self, v: NewVerifier) -> Result<VerifierCreated> {
        text("name", &v.name, 100)?;
        let api_key = format!("edlv_{}", hex::encode(random::bytes::<32>()));
        let id = self
            .store
            .create_verifier(&v.name, v.class, sha256(api_key.as_bytes()), self.now())
            .await?;
        tracing::info!(verifier = id, "verifier created");
        Ok(VerifierCreated {
            verifier_id: id,
            api_key,
            class: v.class,
            audience: v.class.audience(),
        })
    }

    /// Revokes verifier `id` (D194): its API key is refused from now on in this process,
    /// and in the others on the same database within `Config::verifier_recheck`. Revoking
    /// again answers the first revocation's time; an unknown id is `UnknownId`.
    ///
    /// The write and this process's forgetting run to their end together, whatever
    /// becomes of the request: one dropped after the write committed (its deadline, its
    /// client gone) would otherwise leave the key remembered here for the recheck
    /// (twenty-third review, AD-F7). That end is bounded by the request deadline again,
    /// so a write the database never answers does not hold the store, and shutdown, for
    /// ever (twenty-fourth review, AE-F2); and the process forgets whatever came of the
    /// write, since one refused, lost or unanswered may still have been made (AE-F3). One
    /// given up at the bound may commit later, when a check may have remembered the live
    /// row: this process then takes the revocation as the others do, within the recheck,
    /// unless the revoke, answered 503, is sent again (twenty-fifth review, AF-F3).
    pub async fn revoke_verifier(self: &Arc<Self>, id: u64) -> Result<VerifierRevoked> {
        let app = Arc::clone(self);
        let account = to_the_end(async move {
            let bound = app.config.request_timeout;
            let revoked =
                tokio::time::timeout(bound, app.store.revoke_verifier(id, app.now())).await;
            // One read again per remembered key: cheap beside a key kept after its revoke.
            app.verifiers.forget_all();
            let account = revoked.map_err(|_| StoreError::Unavailable)??;
            if account.is_some() {
                tracing::info!(verifier = id, "verifier revoked");
            }
            Ok(account)
        })
        .await?
        .ok_or(Error::UnknownId("verifier"))?;
        Ok(VerifierRevoked {
            verifier_id: id,
            // The update just set it, if it was not set before.
            revoked_at: account
                .revoked_at
                .ok_or(StoreError::Corrupt("revoked at"))?,
            name: account.verifier.name,
            class: account.verifier.class,
        })
    }

    /// Up to `limit` verifier accounts (1 to [`MAX_VERIFIERS_PAGE`]) whose id is above
    /// `after`, by id, revoked ones with their time (D196): how an operator finds the id of
    /// the account to revoke, and sees what a revocation cut off. With `key_hash`, only the
    /// account (above `after`) whose live key hashes to it: an operator holding a leaked
    /// key finds its account without sending the key.
    pub async fn verifier_accounts(
        &self,
        after: u64,
        limit: u32,
        key_hash: Option<[u8; 32]>,
    ) -> Result<VerifierAccounts> {
        let rows = match key_hash {
            None => {
                self.store
                    .verifiers(after, limit.clamp(1, MAX_VERIFIERS_PAGE))
                    .await?
            }
            Some(hash) => match self.store.verifier_by_key_hash(hash).await? {
                // Its whole row, read by id: the key's lookup reads what a check needs.
                Some(v) if v.id > after => self.store.verifiers(v.id - 1, 1).await?,
                _ => Vec::new(),
            },
        };
        Ok(VerifierAccounts {
            verifiers: rows
                .into_iter()
                .map(|row| VerifierAccount {
                    verifier_id: row.verifier.id,
                    name: row.verifier.name,
                    class: row.verifier.class,
                    created_at: row.created_at,
                    revoked_at: row.revoked_at,
                })
                .collect(),
            key_sha256: key_hash.map(hex::encode),
        })
    }

    /// The verifier holding `api_key`.
    pub async fn verifier(&self, api_key: &str) -> Result<VerifierRow> {
        if api_key.is_empty() || api_key.len() > 200 {
            return Err(Error::Unauthorized);
        }
        let key_hash = sha256(api_key.as_bytes());
        if let Some(verifier) = self.verifiers.get(&key_hash) {
            return Ok(verifier);
        }
        let began = self.verifiers.lookup_begins();
        let verifier = self
            .store
            .verifier_by_key_hash(key_hash)
            .await?
            .ok_or(Error::Unauthorized)?;
        self.verifiers.remember(key_hash, verifier.clone(), began);
        Ok(verifier)
    }

    /// Rotates the issuer key. One that must wait for a second of its own (AK-F2) is tried
    /// again once a second later, so an operator's rotation at the top of an hour goes
    /// through; if the clock has not moved by then, it is answered busy.
    #[instrument(skip_all)]
    pub async fn rotate_key(&self) -> Result<TrustListResponse> {
        let loaded = match self.keys.rotate(self.store.as_ref(), self.now()).await {
            Err(Error::Busy { .. }) => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                self.keys.rotate(self.store.as_ref(), self.now()).await?
            }
            other => other?,
        };
        tracing::info!(kid = loaded.issuer.kid().0, "issuer key rotated");
        Ok(TrustListResponse {
            server_time: self.now(),
            ..loaded.response.clone()
        })
    }

    /// The trust list.
    pub async fn trust_list(&self) -> TrustListResponse {
        TrustListResponse {
            server_time: self.now(),
            ..self.recent_keys().await.response.clone()
        }
    }

    /// Sets (1 s to a day, D177) or clears the busy switch, in the store: for every process
    /// on the database and across restarts (D174).
    pub async fn set_busy(&self, b: BusySetting) -> Result<BusySetting> {
        crate::domain::check_busy_setting(b.retry_after)?;
        self.store.set_busy(b.retry_after).await?;
        tracing::info!(retry_after = b.retry_after, "busy switch set");
        Ok(b)
    }

    /// The busy switch as the store has it now: read at each photo change, which is rare
    /// next to checks (at most six a day per driver), so no process answers an old setting.
    /// Held to the bounds of a new setting (D177, R-F3).
    pub async fn busy(&self) -> Result<Option<u32>> {
        Ok(crate::domain::busy_in_effect(self.store.busy().await?))
    }
}
