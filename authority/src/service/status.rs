//! The root-signed trust list and the signed status list, for offline verifiers (D71,
//! D72). Both are built from the store, so a change of status is in the next list anyone
//! fetches: the request that made the change has committed it. Status lists asked for at
//! once share one build (D136).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use edl_core::credential::{ElicenceStatus, StatusList};
use tracing::instrument;

use super::App;
use crate::error::{Error, Result};

impl App {
    /// The trust list signed by the root key: `TrustListContents::sign` bytes. Without a
    /// configured root there is none to serve.
    pub async fn signed_trust_list(&self) -> Result<Vec<u8>> {
        let root = self.config.root.as_ref().ok_or(Error::NotFound)?;
        // The keys first, then the time: read the other way, a set built a moment after the
        // time was read (the hour turned, a rotation adopted) was signed under the time's
        // older sequence (AM-F2).
        let loaded = self.recent_keys().await;
        let now = self.now();
        // The keys listed at this moment, not when the set in memory was last compared
        // with the store: a key's leaving then falls on the hour with the sequence (AL-F1).
        let keys = crate::root::listed_at(&loaded.trust, now, self.keys.kept_for());
        Ok(root.sign(&keys, now, self.config.next_root))
    }

    /// The status list signed now by the current issuing key: every index ever
    /// allocated, superseded unless its e-licence is in force or suspended. One list is
    /// built at a time; a request that arrives while one is built waits for the next,
    /// which it shares with every other that waited (D136): anyone may ask, and a list
    /// reads every e-licence. Each answer was read after its request arrived, so it holds
    /// every change committed before (D71).
    #[instrument(skip_all)]
    pub async fn status_list(self: &Arc<Self>) -> Result<Bytes> {
        let ticket = self.status_lists.asked.fetch_add(1, Ordering::SeqCst) + 1;
        // In a task of its own: a request that goes away (a client that hangs up, the
        // deadline) leaves its build running to its end under the lock, instead of
        // dropping the lock while the build's blocking work runs on unseen and the next
        // request starts another beside it.
        let app = self.clone();
        tokio::spawn(async move {
            let lists = &app.status_lists;
            let mut last = lists.last.lock().await;
            if let Some((answers, bytes)) = &*last
                && *answers >= ticket
            {
                return Ok(bytes.clone());
            }
            // Every request that has a number by now is answered by this build.
            let answers = lists.asked.load(Ordering::SeqCst);
            let bytes = app.build_status_list().await?;
            *last = Some((answers, bytes.clone()));
            Ok(bytes)
        })
        .await
        .map_err(|_| Error::InvalidState("the status list could not be built"))?
    }

    async fn build_status_list(&self) -> Result<Bytes> {
        let entries = self.store.status_entries().await?;
        let keys = self.signing_keys().await?;
        let now = u32::try_from(self.now()).unwrap_or(u32::MAX);
        let ttl = self.config.status_list_ttl;
        // Millions of entries to set, compress and sign: not on a request thread.
        tokio::task::spawn_blocking(move || {
            let mut list = StatusList::filled(now, ttl, entries.count, ElicenceStatus::Superseded);
            for (index, status) in entries.live {
                // An index past `count` cannot be stored; skipping it leaves it unknown.
                let _ = list.set(index, status);
            }
            Bytes::from(keys.issuer.sign_status_list(&list))
        })
        .await
        .map_err(|_| Error::InvalidState("the status list could not be built"))
    }
}

/// The status list last built, and which requests it answers (D136).
#[derive(Default)]
pub struct StatusLists {
    /// Requests for a list so far: each takes the next number.
    asked: AtomicU64,
    /// Held while a list is built; the last one, with the highest request number it
    /// answers (every request numbered before its build began).
    last: tokio::sync::Mutex<Option<(u64, Bytes)>>,
}
