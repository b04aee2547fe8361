//! The issuer keys in memory: the current signer and the trust list, loaded from the
//! store at start and replaced on rotation. Several authority processes may share one
//! database, so a rotation can come from another process: whatever signs compares the set
//! with the store first, and the served trust list does so every few seconds (third
//! hostile review, A-F1; D128).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use edl_core::credential::{Issuer, TrustList, TrustedKey};
use edl_core::crypto::{self, KeyId, Purpose, SecretKey};
use edl_core::wire::{Base64, TrustListResponse, TrustedKeyInfo};

use crate::error::Error;
use crate::random;
use crate::seal::SeedSealer;
use crate::store::{IssuerKeyRow, RegistryStore, StoreError};

/// The current issuer and what verifiers are told about all keys.
pub struct Keys {
    inner: RwLock<Arc<Loaded>>,
    /// Seals new seeds before they are stored and opens stored ones (D64).
    sealer: Arc<dyn SeedSealer>,
    /// How long a retired key stays in the trust list (what it signed may still be in use).
    max_credential_life: u64,
    /// When (the app clock, seconds) the set was last compared with the store.
    checked_at: AtomicU64,
}

/// The longest a served trust list (and a sync's choice to re-sign) lags a rotation made
/// through another process on the same database. What signs never lags: it reads first.
pub const RECHECK_SECS: u64 = 2;

/// One consistent set of keys.
pub struct Loaded {
    /// Signs new credentials.
    pub issuer: Issuer,
    /// Every key, current and retired.
    pub trust: TrustList,
    /// The trust list endpoint's answer, less the server time.
    pub response: TrustListResponse,
    /// The stored rows this set was built from (kid, not before, not after): a store
    /// holding other rows has a newer set.
    rows: Vec<(u16, u32, u32)>,
}

impl Keys {
    /// Loads the keys, making the first one at `now` if there is none. Retired keys
    /// stay in the trust list for `max_credential_life` seconds after retirement (what
    /// they signed may still be in use), then drop out.
    /// Seeds are stored sealed by `sealer`.
    pub async fn load(
        store: &dyn RegistryStore,
        now: u64,
        max_credential_life: u64,
        sealer: Arc<dyn SeedSealer>,
    ) -> Result<Self, Error> {
        let mut rows = store.issuer_keys().await?;
        if rows.is_empty() {
            match store
                .rotate_issuer_key(new_key(1, now, sealer.as_ref()))
                .await
            {
                // Another process starting on the same new database made it first.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            rows = store.issuer_keys().await?;
        }
        let loaded = build(&rows, now, max_credential_life, sealer.as_ref())?;
        Ok(Keys {
            inner: RwLock::new(Arc::new(loaded)),
            sealer,
            max_credential_life,
            checked_at: AtomicU64::new(now),
        })
    }

    /// What seals secrets at rest (issuing seeds here, TOTP seeds in the service, D83).
    pub fn sealer(&self) -> &dyn SeedSealer {
        self.sealer.as_ref()
    }

    /// The set in memory, as last compared with the store.
    pub fn current(&self) -> Arc<Loaded> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current set, compared with the store first: everything that signs takes its
    /// key here, so no process signs with a key another process has retired.
    pub async fn for_signing(
        &self,
        store: &dyn RegistryStore,
        now: u64,
    ) -> Result<Arc<Loaded>, Error> {
        let rows = store.issuer_keys().await?;
        self.adopt(&rows, now)
    }

    /// The current set, compared with the store at most every [`RECHECK_SECS`]: for the
    /// trust list served and a sync's choice to re-sign. While the store cannot be read
    /// the set in memory is answered (the trust list stays up in an outage).
    pub async fn recent(&self, store: &dyn RegistryStore, now: u64) -> Arc<Loaded> {
        let checked = self.checked_at.load(Ordering::Relaxed);
        if now < checked.saturating_add(RECHECK_SECS) {
            return self.current();
        }
        // One request a period reads the store, whether or not it answers: while it is
        // down, the others are not held up by it, and not one logs a warning each.
        if self
            .checked_at
            .compare_exchange(checked, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return self.current();
        }
        match self.for_signing(store, now).await {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::warn!(error = %e, "issuer keys not compared with the store");
                self.current()
            }
        }
    }

    /// How long a retired key stays in the trust list after its retirement (the longest
    /// a credential it signed may be in use).
    pub fn kept_for(&self) -> u64 {
        self.max_credential_life
    }

    /// Makes a new current key valid from `now` and retires the others at `now`:
    /// credentials they signed keep verifying until they expire. The next key id follows
    /// the keys read from the store for the checks below, which another process may have
    /// rotated; two rotations at once clash on it, and the later one is refused. A
    /// rotation that would give the trust list no new sequence (in an hour's first second,
    /// or in the second of another key event: [`crate::root::a_new_sequence_at`]) is
    /// refused as busy for a second, and one behind a key event after this clock as an
    /// invalid state; either changes nothing.
    pub async fn rotate(&self, store: &dyn RegistryStore, now: u64) -> Result<Arc<Loaded>, Error> {
        let held = self.for_signing(store, now).await?;
        // A key event after this clock: another process's clock is ahead, or this one was
        // stepped back; waiting a second will not do (AM-F4).
        if crate::root::latest_key_event(&held.trust).is_some_and(|t| t > now) {
            return Err(Error::InvalidState(
                "the latest issuer key event is after this server's clock: check the clocks",
            ));
        }
        if !crate::root::a_new_sequence_at(&held.trust, now) {
            return Err(Error::Busy { retry_after: 1 });
        }
        // The next id after the keys the check above read: a rotation another process
        // made since then takes the same id and this one is refused as a clash, instead
        // of retiring that key at a time before it began (thirty-second review, AM-F1).
        let next = held
            .issuer
            .kid()
            .0
            .checked_add(1)
            .ok_or(Error::InvalidState("no key ids left"))?;
        match store
            .rotate_issuer_key(new_key(next, now, self.sealer.as_ref()))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(Error::InvalidState(
                    "another rotation of the issuer key was made at the same time",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        self.for_signing(store, now).await
    }

    /// The set for the stored `rows`: the one in memory if they are what it was built
    /// from, else a new one (never an older one than memory holds: a slower reader
    /// cannot undo a rotation another has already seen).
    fn adopt(&self, rows: &[IssuerKeyRow], now: u64) -> Result<Arc<Loaded>, Error> {
        self.checked_at.fetch_max(now, Ordering::Relaxed);
        let held = self.current();
        if held.rows == fingerprint(&useful(rows, now, self.max_credential_life)) {
            return Ok(held);
        }
        let loaded = Arc::new(build(
            rows,
            now,
            self.max_credential_life,
            self.sealer.as_ref(),
        )?);
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.issuer.kid().0 > loaded.issuer.kid().0 {
            return Ok(inner.clone());
        }
        if inner.issuer.kid() != loaded.issuer.kid() {
            tracing::info!(kid = loaded.issuer.kid().0, "issuer key now in use");
        }
        *inner = loaded.clone();
        Ok(loaded)
    }
}

/// What a sealed seed is bound to: its key id.
fn label(kid: u16) -> Vec<u8> {
    format!("edl issuer key {kid}").into_bytes()
}

fn new_key(kid: u16, now: u64, sealer: &dyn SeedSealer) -> IssuerKeyRow {
    let seed = zeroize::Zeroizing::new(random::bytes::<32>());
    IssuerKeyRow {
        kid,
        seed: sealer.seal(&label(kid), &seed),
        not_before: u32::try_from(now).unwrap_or(u32::MAX),
        not_after: u32::MAX,
    }
}

/// Most keys a trust list holds (its encoding's limit is 64).
const MAX_TRUSTED: usize = 32;

/// The secret key of a stored row. A 32-byte value is a plain seed stored before sealing
/// existed (D64): it still loads, and the next rotation retires it.
fn secret(row: &IssuerKeyRow, sealer: &dyn SeedSealer) -> Result<SecretKey, Error> {
    if let Ok(plain) = <[u8; 32]>::try_from(row.seed.as_slice()) {
        return Ok(SecretKey::from_seed(plain));
    }
    let seed = sealer.open(&label(row.kid), &row.seed)?;
    Ok(SecretKey::from_seed(*seed))
}

fn build(
    rows: &[IssuerKeyRow],
    now: u64,
    max_credential_life: u64,
    sealer: &dyn SeedSealer,
) -> Result<Loaded, Error> {
    let current = rows
        .iter()
        .max_by_key(|r| r.kid)
        .ok_or(StoreError::Corrupt("no issuer key"))?;
    let useful = useful(rows, now, max_credential_life);
    let trusted: Vec<TrustedKey> = useful
        .iter()
        .map(|r| {
            Ok(TrustedKey {
                kid: KeyId(r.kid),
                key: secret(r, sealer)?.public(),
                not_before: r.not_before,
                not_after: r.not_after,
            })
        })
        .collect::<Result<_, Error>>()?;
    let trust = TrustList::new(trusted.clone())?;
    let secret = secret(current, sealer)?;
    let encoded = trust.encode();
    let signature = crypto::sign(&secret, Purpose::TrustList, &encoded);
    let response = TrustListResponse {
        trust_list: Base64(encoded),
        keys: trust
            .keys()
            .iter()
            .map(|k| TrustedKeyInfo {
                kid: k.kid.0,
                public_key: Base64(k.key.to_bytes().to_vec()),
                not_before: u64::from(k.not_before),
                not_after: u64::from(k.not_after),
            })
            .collect(),
        signer_kid: current.kid,
        signature: Base64(signature.0.to_vec()),
        server_time: 0,
    };
    Ok(Loaded {
        issuer: Issuer::new(KeyId(current.kid), secret),
        trust,
        response,
        rows: fingerprint(&useful),
    })
}

/// The rows the trust list holds at `now`, newest first: the current key, and retired
/// keys for as long as what they signed may still be in use, at most [`MAX_TRUSTED`].
fn useful(rows: &[IssuerKeyRow], now: u64, max_credential_life: u64) -> Vec<&IssuerKeyRow> {
    let Some(current) = rows.iter().map(|r| r.kid).max() else {
        return Vec::new();
    };
    let mut useful: Vec<&IssuerKeyRow> = rows
        .iter()
        .filter(|r| r.kid == current || crate::root::listed(r.not_after, now, max_credential_life))
        .collect();
    useful.sort_by_key(|r| std::cmp::Reverse(r.kid));
    useful.truncate(MAX_TRUSTED);
    useful
}

fn fingerprint(rows: &[&IssuerKeyRow]) -> Vec<(u16, u32, u32)> {
    rows.iter()
        .map(|r| (r.kid, r.not_before, r.not_after))
        .collect()
}
