//! The authority's operations: each validates its input, runs one rule of
//! [`crate::domain::rules`] on the driver aggregate through the store, and returns a
//! wire type. Handlers only extract and call these.
//!
//! - [`registry`]: the registry's admin operations (drivers, violations, status,
//!   renewal, counter issuance).
//! - [`review`]: the photo review queue and its decisions.
//! - [`accounts`]: verifier accounts, issuer keys and the trust list, the busy switch.
//! - [`wallet`]: what the driver's wallet calls (enrol, apply, photo, sync).
//! - [`verify`]: online verification.
//! - [`photo`]: the approved photo as its own resource, for a verifier that just checked
//!   the e-licence and for the driver (D92).

mod accounts;
mod photo;
mod registry;
mod review;
mod status;
mod verify;
mod wallet;

pub use status::StatusLists;

use std::sync::Arc;

use edl_core::credential::ElicenceId;
use edl_core::crypto::sha256;
use edl_core::wire::{ApplicationView, Base64, DriverDetail, ElicenceSummary};

use crate::config::Config;
use crate::domain::check_photo;
use crate::domain::rules::{Fresh, Signing};
use crate::error::{Error, Result};
use crate::identity::IdentityVerifier;
use crate::keys::{Keys, Loaded};
use crate::limiter::Limiter;
use crate::random;
use crate::store::{DriverId, DriverState, Effects, RegistryStore, SealedSeed};
use zeroize::Zeroizing;

pub use crate::domain::rules::MAX_RECORD_ENTRIES;

/// Feed entries per sync answer.
pub const SYNC_PAGE: u32 = 200;
/// Reviews per queue page at most.
pub const MAX_REVIEW_PAGE: u32 = 100;

/// Runs `work` on its own task and waits for it: dropped, the wait ends but `work` goes on
/// to its end. For what must follow a decision the store made, whatever becomes of the
/// request (D184). A task that panicked is a 503, its outcome unknown.
async fn to_the_end<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    // In the request's span, so what the task logs still says which call it was.
    tokio::spawn(tracing::Instrument::in_current_span(work))
        .await
        .map_err(|_| Error::Store(crate::store::StoreError::Aborted))?
}

/// Everything the handlers share.
pub struct App {
    /// Storage.
    pub store: Arc<dyn RegistryStore>,
    /// Issuer keys.
    pub keys: Keys,
    /// Failed-check counters.
    pub limiter: Limiter,
    /// The real-person check.
    pub identity: Arc<dyn IdentityVerifier>,
    /// Settings.
    pub config: Config,
    /// Online codes already verified (single use, `guard.rs`).
    pub spent: crate::guard::SpentCodes,
    /// Admin tokens (`roles.rs`): the configured ones and the all-roles `admin_token`.
    pub admins: Vec<crate::roles::AdminToken>,
    /// Back-off on enrolment attempts (`throttle.rs`).
    pub enrolment: crate::throttle::EnrolThrottle,
    /// What `/metrics` shows (D90).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Verifiers already found by API key (D114).
    pub verifiers: crate::verifiers::VerifierCache,
    /// Photo upload bodies being read: at most `config.max_photo_uploads` (D135).
    pub photo_uploads: Arc<tokio::sync::Semaphore>,
    /// The status list being built, or last built (D136).
    pub status_lists: StatusLists,
}

fn application_view(s: &DriverState) -> ApplicationView {
    ApplicationView {
        phase: s.phase,
        pending_review: s.pending_review,
    }
}

fn detail(s: &DriverState) -> DriverDetail {
    DriverDetail {
        driver_id: s.id,
        licence: s.licence.clone(),
        device_enrolled: s.device_key.is_some(),
        photo_on_file: s.photo.is_some(),
        application: application_view(s),
        elicence: s.elicence.as_ref().map(|e| ElicenceSummary {
            elicence_id: ElicenceId(e.id),
            state: e.state,
            issued_at: e.issued_at,
            expires_at: e.expires_at,
            kid: e.kid,
        }),
    }
}

/// Free text from an admin that people read later (a verifier's name in drivers' logs, a
/// record entry, a rejection reason): 1 to `max_chars` characters, none of them a control
/// or bidirectional formatting character (D122), so it is shown as it was typed.
fn text(field: &'static str, value: &str, max_chars: usize) -> Result<()> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > max_chars {
        return Err(Error::BadRequest(format!(
            "`{field}` must be 1 to {max_chars} characters"
        )));
    }
    if edl_core::licence::has_hidden_character(value) {
        return Err(Error::BadRequest(format!(
            "`{field}` holds a control or bidirectional formatting character"
        )));
    }
    Ok(())
}

fn photo_bytes(b: &Base64) -> Result<([u8; 32], Vec<u8>)> {
    check_photo(b.as_bytes())?;
    Ok((sha256(b.as_bytes()), b.as_bytes().to_vec()))
}

/// What a rule needs to sign with `keys` at `now`.
fn signing(keys: &Loaded, now: u64, ttl_hours: u16) -> Signing<'_> {
    Signing {
        issuer: &keys.issuer,
        now,
        ttl_hours,
    }
}

/// What a sealed TOTP seed is bound to: its e-licence id (a sealed seed moved to another
/// e-licence does not open).
fn totp_label(elicence: u64) -> Vec<u8> {
    format!("edl totp seed {elicence}").into_bytes()
}

/// The configured admin tokens, and `admin_token` with every role when set.
fn admin_tokens(config: &Config) -> Vec<crate::roles::AdminToken> {
    use crate::roles::{AdminToken, Role};
    let mut tokens = config.admin_tokens.clone();
    if !config.admin_token.is_empty() {
        tokens.push(AdminToken::new("admin", &Role::ALL, &config.admin_token));
    }
    tokens
}

impl App {
    /// Builds the shared state.
    pub fn new(
        store: Arc<dyn RegistryStore>,
        keys: Keys,
        identity: Arc<dyn IdentityVerifier>,
        config: Config,
    ) -> Self {
        App {
            store,
            keys,
            limiter: Limiter::new(config.check_limits),
            identity,
            spent: Default::default(),
            enrolment: crate::throttle::EnrolThrottle::new(config.enrol_limits),
            admins: admin_tokens(&config),
            metrics: Default::default(),
            verifiers: crate::verifiers::VerifierCache::new(config.verifier_recheck),
            status_lists: Default::default(),
            photo_uploads: Arc::new(tokio::sync::Semaphore::new(config.max_photo_uploads.max(1))),
            config,
        }
    }

    /// A new e-licence's id and seed, from the OS generator, the seed sealed under the
    /// KEK before it goes near the store (D83), and its status-list index (D71).
    async fn fresh(&self) -> Result<Fresh> {
        let id = random::id();
        let seed = Zeroizing::new(random::bytes::<32>());
        Ok(Fresh {
            id,
            seed: SealedSeed(self.keys.sealer().seal(&totp_label(id), &seed)),
            status_index: self.store.allocate_status_index().await?,
        })
    }

    /// Runs `rule` on driver `id` as `update_driver` does, drawing a new e-licence's
    /// identity (its status index among it) only when the rule issues one (PH-3): first
    /// without one, then, if the rule answers [`Error::FreshNeeded`] (nothing saved), again
    /// with one drawn. An index drawn before the rule ran was spent by every application and
    /// approval that issued nothing; indices are never given back, so a wallet calling
    /// `apply` in a loop grew the status list every verifier fetches toward the end of the
    /// index space, where no e-licence could be issued any more. The rule runs twice when it
    /// issues, on the state as each write finds it; an identity check in it is a pure
    /// verification and gives the same answer both times.
    async fn update_issuing<F>(&self, id: DriverId, rule: F) -> Result<DriverState>
    where
        F: Fn(&mut DriverState, Option<Fresh>) -> Result<Effects> + Clone + Send + 'static,
    {
        let first = rule.clone();
        match self
            .store
            .update_driver(id, Box::new(move |s| first(s, None)))
            .await
        {
            Err(Error::FreshNeeded) => {
                let new = self.fresh().await?;
                self.store
                    .update_driver(id, Box::new(move |s| rule(s, Some(new))))
                    .await
            }
            other => other,
        }
    }

    /// The TOTP seed of e-licence `elicence` from its stored form.
    fn open_totp(&self, elicence: u64, sealed: &SealedSeed) -> Result<Zeroizing<[u8; 32]>> {
        if let Ok(plain) = <[u8; 32]>::try_from(sealed.0.as_slice()) {
            // Stored before sealing existed (D83): still opens; a new e-licence seals.
            return Ok(Zeroizing::new(plain));
        }
        Ok(self.keys.sealer().open(&totp_label(elicence), &sealed.0)?)
    }

    /// Now, by the configured clock.
    pub fn now(&self) -> u64 {
        self.config.clock.now()
    }

    /// The issuer keys to sign with, as the store has them now (another process on the
    /// same database may have rotated, D128).
    async fn signing_keys(&self) -> Result<Arc<Loaded>> {
        self.keys.for_signing(self.store.as_ref(), self.now()).await
    }

    /// The issuer keys as compared with the store within the last few seconds: for what
    /// is served, and a sync's choice to re-sign.
    async fn recent_keys(&self) -> Arc<Loaded> {
        self.keys.recent(self.store.as_ref(), self.now()).await
    }

    fn ttl(&self) -> u16 {
        // A verifier refuses views that declare more than the protocol cap (D57).
        self.config
            .credential_ttl_hours
            .clamp(1, edl_core::credential::MAX_VIEW_LIFETIME_HOURS)
    }

    async fn load(&self, id: DriverId) -> Result<DriverState> {
        self.store
            .driver(id)
            .await?
            .ok_or(Error::UnknownId("driver"))
    }

    /// Rebuilds lock-outs from the failures in the verification log.
    pub async fn restore_limiter(&self) -> Result<()> {
        let now = self.now();
        let since = now.saturating_sub(self.limiter.memory());
        let failures = self.store.check_failures_since(since).await?;
        tracing::info!(failures = failures.len(), "lock-outs restored");
        for f in failures {
            self.limiter.restore(f.verifier_id, &f.target, f.at);
        }
        Ok(())
    }
}
