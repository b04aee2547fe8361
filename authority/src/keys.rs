//! The issuer keys in memory: the current signer and the trust list, loaded from the
//! store at start and replaced on rotation.

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
}

/// One consistent set of keys.
pub struct Loaded {
    /// Signs new credentials.
    pub issuer: Issuer,
    /// Every key, current and retired.
    pub trust: TrustList,
    /// The trust list endpoint's answer, less the server time.
    pub response: TrustListResponse,
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
            store
                .rotate_issuer_key(new_key(1, now, sealer.as_ref()))
                .await?;
            rows = store.issuer_keys().await?;
        }
        let loaded = build(&rows, now, max_credential_life, sealer.as_ref())?;
        Ok(Keys {
            inner: RwLock::new(Arc::new(loaded)),
            sealer,
        })
    }

    /// What seals secrets at rest (issuing seeds here, TOTP seeds in the service, D83).
    pub fn sealer(&self) -> &dyn SeedSealer {
        self.sealer.as_ref()
    }

    /// The current set.
    pub fn current(&self) -> Arc<Loaded> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes a new current key valid from `now` and retires the others at `now`:
    /// credentials they signed keep verifying until they expire.
    pub async fn rotate(
        &self,
        store: &dyn RegistryStore,
        now: u64,
        max_credential_life: u64,
    ) -> Result<Arc<Loaded>, Error> {
        let next = self
            .current()
            .issuer
            .kid()
            .0
            .checked_add(1)
            .ok_or(Error::InvalidState("no key ids left"))?;
        store
            .rotate_issuer_key(new_key(next, now, self.sealer.as_ref()))
            .await?;
        let loaded = Arc::new(build(
            &store.issuer_keys().await?,
            now,
            max_credential_life,
            self.sealer.as_ref(),
        )?);
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = loaded.clone();
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
    // Keys retired longer ago than a credential lives verify nothing still valid.
    let mut useful: Vec<&IssuerKeyRow> = rows
        .iter()
        .filter(|r| r.kid == current.kid || u64::from(r.not_after) + max_credential_life >= now)
        .collect();
    useful.sort_by_key(|r| std::cmp::Reverse(r.kid));
    useful.truncate(MAX_TRUSTED);
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
    })
}
