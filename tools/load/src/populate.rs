//! Loads N drivers straight into a store: each with an approved photo, an active
//! e-licence issued by the store's own issuer key after a real-person check, its record,
//! the feed a real application leaves (review result, message) and a few verification
//! log entries.
//!
//! The aggregate and its effects come from the authority's own rules
//! (`domain::rules::approve_photo` on a driver under review), so the rows are what the
//! server would have written; only the writing is bulk: batches of rows in one
//! transaction each (SQLite) or `INSERT … SELECT FROM unnest(…)` (PostgreSQL), while a
//! second thread builds and signs the next batch.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use edl_authority::domain::rules::{Fresh, Signing, approve_photo};
use edl_authority::keys::Keys;
use edl_authority::seal::{FileKek, SeedSealer};
use edl_authority::store::columns::{bump_versions, elicence_state_str, kind_str, status_bits};
use edl_authority::store::postgres::PgStore;
use edl_authority::store::sqlite::SqliteStore;
use edl_authority::store::{
    Bytes32, DriverState, FeedEvent, PhotoStatus, RegistryStore, SealedSeed,
};
use edl_authority::{Clock, SystemClock};
use edl_core::credential::Audience;
use edl_core::crypto::sha256;
use edl_core::licence::fixtures::sample_licence;
use edl_core::verify::china_date;
use edl_core::wire::{
    ApplicationPhase, CheckMethod, CheckOutcome, ReviewKind, ReviewPending, VerificationLogEntry,
    VerifierClass,
};

use crate::codes::{device_key, elicence_id, licence_number, totp_seed};
use crate::{Error, Target};

/// The API key of the populated enforcement verifier (test data of a throwaway database).
pub const API_KEY: &str = "edl-load-enforcement-verifier-key";
/// Its name, shown to drivers in their log.
pub const VERIFIER: &str = "Load test traffic police";
/// Drivers built and written per batch.
const BATCH: u64 = 2_000;

/// What to load.
pub struct Plan {
    /// How many drivers (ids 1..=drivers).
    pub drivers: u64,
    /// Bytes of each driver's photo (distinct, incompressible, JPEG magic first).
    pub photo_bytes: usize,
    /// Verification log entries per driver.
    pub log_rows: u32,
}

/// A feed row: `(seq, kind, at, verifier_id, outcome, body)`.
type FeedRow = (i64, &'static str, i64, Option<i64>, Option<String>, String);

/// One driver's rows.
struct Rows {
    id: i64,
    number: String,
    seq: i64,
    state: serde_json::Value,
    elicence: (i64, Vec<u8>, &'static str, i64, i16),
    photo: (Vec<u8>, Vec<u8>),
    feed: Vec<FeedRow>,
}

/// The key-encryption key the authority must be started with (hex in
/// `EDL_AUTHORITY_KEK`): the TOTP seeds are sealed under it.
pub fn kek() -> Result<FileKek, Error> {
    let hex = std::env::var(edl_authority::seal::KEK_ENV)
        .map_err(|_| Error::Setup("set EDL_AUTHORITY_KEK (64 hex digits)".into()))?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex.trim(), &mut key)
        .map_err(|_| Error::Setup("EDL_AUTHORITY_KEK is not 64 hex digits".into()))?;
    Ok(FileKek::new(&key))
}

/// Loads `plan` into `target`; returns the seconds it took.
pub async fn populate(target: &Target, plan: &Plan) -> Result<f64, Error> {
    let started = std::time::Instant::now();
    let now = SystemClock.now();
    let sealer: Arc<dyn SeedSealer> = Arc::new(kek()?);
    // The store itself migrates the schema, makes the issuer key and the verifier.
    let (issuer, verifier_id) = {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut writer = None;
        let store: Box<dyn RegistryStore> = match target {
            Target::Sqlite(path) => {
                let store = SqliteStore::open(path, 2, clock, 600)?;
                writer = store.take_writer_thread();
                Box::new(store)
            }
            Target::Postgres(url) => Box::new(PgStore::connect(url, 2, clock, 600).await?),
        };
        let keys = Keys::load(store.as_ref(), now, 7 * 86_400, sealer.clone())
            .await
            .map_err(|e| Error::Setup(format!("issuer key: {e}")))?;
        let loaded = keys.current();
        let verifier = store
            .create_verifier(
                VERIFIER,
                VerifierClass::Enforcement,
                sha256(API_KEY.as_bytes()),
                now,
            )
            .await?;
        drop(keys);
        drop(store);
        // The SQLite writer has closed the database before the bulk writes open it.
        if let Some(thread) = writer {
            let _ = thread.join();
        }
        (loaded, verifier)
    };

    let (tx, rx) = mpsc::sync_channel::<Vec<Rows>>(2);
    let drivers = plan.drivers;
    let (photo_bytes, log_rows) = (plan.photo_bytes, plan.log_rows);
    let builder = std::thread::spawn(move || -> Result<(), Error> {
        let mut first = 1;
        while first <= drivers {
            let last = (first + BATCH - 1).min(drivers);
            let batch = (first..=last)
                .map(|i| {
                    driver_rows(
                        i,
                        now,
                        &issuer.issuer,
                        sealer.as_ref(),
                        verifier_id,
                        photo_bytes,
                        log_rows,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            if tx.send(batch).is_err() {
                break;
            }
            first = last + 1;
        }
        Ok(())
    });
    match target {
        Target::Sqlite(path) => write_sqlite(path, rx, drivers)?,
        Target::Postgres(url) => write_postgres(url, rx, drivers).await?,
    }
    builder
        .join()
        .map_err(|_| Error::Setup("the builder thread panicked".into()))??;
    Ok(started.elapsed().as_secs_f64())
}

fn photo(i: u64, len: usize) -> Vec<u8> {
    // xorshift from the driver's number: as incompressible as a JPEG's entropy-coded data.
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while bytes.len() < len.max(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len.max(8));
    bytes
}

fn driver_rows(
    i: u64,
    now: u64,
    issuer: &edl_core::credential::Issuer,
    sealer: &dyn SeedSealer,
    verifier_id: u64,
    photo_bytes: usize,
    log_rows: u32,
) -> Result<Rows, Error> {
    let mut licence = sample_licence(china_date(now));
    licence.main.licence_number = licence_number(i);
    let new = {
        let mut s = DriverState::new(licence);
        s.id = i;
        s
    };
    let mut s = new.clone();
    let device = Bytes32(device_key(i).public().to_bytes());
    s.device_key = Some(device);
    s.identity_key = Some(device);
    s.phase = ApplicationPhase::UnderReview;
    s.pending_review = Some(ReviewPending {
        photo_id: i,
        submitted_at: now - 3_600,
        deadline: now + 86_400,
    });
    let bytes = photo(i, photo_bytes);
    let digest = sha256(&bytes);
    let id = elicence_id(i);
    // The service's label for a TOTP seed (`service::totp_label`).
    let label = format!("edl totp seed {id}");
    let fresh = Fresh {
        id,
        seed: SealedSeed(sealer.seal(label.as_bytes(), &totp_seed(i))),
        status_index: u32::try_from(i - 1).map_err(|_| Error::Setup("too many drivers".into()))?,
    };
    let signing = Signing {
        issuer,
        now,
        ttl_hours: 72,
    };
    let effects = approve_photo(&mut s, i, digest, Some(fresh), signing)
        .map_err(|e| Error::Setup(format!("issuing: {e}")))?;
    let mut seq = bump_versions(&new, &mut s, 0);
    let mut feed = Vec::new();
    let checks = (0..log_rows).map(|n| FeedEvent::Verification {
        verifier_id,
        entry: VerificationLogEntry {
            at: now - 600 + u64::from(n),
            verifier: VERIFIER.into(),
            verifier_class: VerifierClass::Enforcement,
            audience: Audience::Enforcement,
            method: CheckMethod::Qr,
            outcome: CheckOutcome::Verified,
        },
    });
    for event in effects.feed.iter().cloned().chain(checks) {
        seq += 1;
        let (kind, at, verifier, outcome, body) =
            edl_authority::store::postgres::feed_columns(&event)?;
        feed.push((seq as i64, kind, at, verifier, outcome, body));
    }
    let e = s
        .elicence
        .as_ref()
        .ok_or(Error::Setup("no e-licence issued".into()))?;
    let (index, status) = s
        .status_entry()
        .ok_or(Error::Setup("no status entry".into()))?;
    Ok(Rows {
        id: i as i64,
        number: s.licence.main.licence_number.clone(),
        seq: seq as i64,
        elicence: (
            e.id as i64,
            e.seed.0.clone(),
            elicence_state_str(e.state),
            i64::from(index),
            status_bits(status),
        ),
        state: serde_json::to_value(&s).map_err(|_| Error::Setup("state JSON".into()))?,
        photo: (digest.to_vec(), bytes),
        feed,
    })
}

const PHOTO_KIND: ReviewKind = ReviewKind::Application;

fn write_sqlite(path: &Path, rx: mpsc::Receiver<Vec<Rows>>, drivers: u64) -> Result<(), Error> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    while let Ok(batch) = rx.recv() {
        let tx = conn.transaction()?;
        {
            let mut d = tx.prepare_cached(
                "INSERT INTO drivers (id, licence_number, seq, state) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut e = tx.prepare_cached(
                "INSERT INTO elicences (id, driver_id, seed, state, status_index, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut p = tx.prepare_cached(
                "INSERT INTO photos (id, driver_id, client_key, digest, bytes, kind, status,
                 submitted_at, deadline, decided_at) VALUES (?1, ?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut f = tx.prepare_cached(
                "INSERT INTO feed (driver_id, seq, kind, at, verifier_id, outcome, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for r in &batch {
                d.execute(rusqlite::params![
                    r.id,
                    r.number,
                    r.seq,
                    r.state.to_string()
                ])?;
                let (eid, seed, state, index, status) = &r.elicence;
                e.execute(rusqlite::params![eid, r.id, seed, state, index, status])?;
                let at = r.feed.first().map_or(0, |f| f.2);
                p.execute(rusqlite::params![
                    r.id,
                    r.photo.0,
                    r.photo.1,
                    kind_str(PHOTO_KIND),
                    PhotoStatus::Approved.as_str(),
                    at - 3_600,
                    at + 86_400,
                    at
                ])?;
                for (seq, kind, at, verifier, outcome, body) in &r.feed {
                    f.execute(rusqlite::params![
                        r.id, seq, kind, at, verifier, outcome, body
                    ])?;
                }
            }
        }
        tx.commit()?;
    }
    // The status-list counter past the last index handed out (AUTOINCREMENT keeps it).
    conn.execute(
        "INSERT INTO status_indices (n) VALUES (?1)",
        [drivers as i64],
    )?;
    conn.execute("DELETE FROM status_indices", [])?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

async fn write_postgres(
    url: &str,
    rx: mpsc::Receiver<Vec<Rows>>,
    drivers: u64,
) -> Result<(), Error> {
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    loop {
        let rx = rx.clone();
        let batch = tokio::task::spawn_blocking(move || rx.lock().ok()?.recv().ok())
            .await
            .map_err(|_| Error::Setup("receiver".into()))?;
        let Some(batch) = batch else { break };
        let tx = client.transaction().await?;
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let numbers: Vec<&str> = batch.iter().map(|r| r.number.as_str()).collect();
        let seqs: Vec<i64> = batch.iter().map(|r| r.seq).collect();
        let states: Vec<&serde_json::Value> = batch.iter().map(|r| &r.state).collect();
        tx.execute(
            "INSERT INTO drivers (id, licence_number, seq, state)
             SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::JSONB[])",
            &[&ids, &numbers, &seqs, &states],
        )
        .await?;
        let eids: Vec<i64> = batch.iter().map(|r| r.elicence.0).collect();
        let seeds: Vec<&[u8]> = batch.iter().map(|r| r.elicence.1.as_slice()).collect();
        let estates: Vec<&str> = batch.iter().map(|r| r.elicence.2).collect();
        let indices: Vec<i64> = batch.iter().map(|r| r.elicence.3).collect();
        let bits: Vec<i16> = batch.iter().map(|r| r.elicence.4).collect();
        tx.execute(
            "INSERT INTO elicences (id, driver_id, seed, state, status_index, status)
             SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BYTEA[], $4::TEXT[],
                                  $5::BIGINT[], $6::SMALLINT[])",
            &[&eids, &ids, &seeds, &estates, &indices, &bits],
        )
        .await?;
        let digests: Vec<&[u8]> = batch.iter().map(|r| r.photo.0.as_slice()).collect();
        let bytes: Vec<&[u8]> = batch.iter().map(|r| r.photo.1.as_slice()).collect();
        let at: Vec<i64> = batch
            .iter()
            .map(|r| r.feed.first().map_or(0, |f| f.2))
            .collect();
        tx.execute(
            "INSERT INTO photos (id, driver_id, client_key, digest, bytes, kind, status,
                                 submitted_at, deadline, decided_at)
             SELECT id, id, NULL, digest, bytes, $4, $5, at - 3600, at + 86400, at
             FROM unnest($1::BIGINT[], $2::BYTEA[], $3::BYTEA[], $6::BIGINT[])
                  AS t (id, digest, bytes, at)",
            &[
                &ids,
                &digests,
                &bytes,
                &kind_str(PHOTO_KIND),
                &PhotoStatus::Approved.as_str(),
                &at,
            ],
        )
        .await?;
        #[allow(clippy::type_complexity)]
        let mut f: (Vec<i64>, Vec<i64>, Vec<&str>, Vec<i64>, Vec<Option<i64>>) = Default::default();
        let (mut outcomes, mut bodies): (Vec<Option<&str>>, Vec<&str>) = Default::default();
        for r in &batch {
            for (seq, kind, at, verifier, outcome, body) in &r.feed {
                f.0.push(r.id);
                f.1.push(*seq);
                f.2.push(kind);
                f.3.push(*at);
                f.4.push(*verifier);
                outcomes.push(outcome.as_deref());
                bodies.push(body);
            }
        }
        tx.execute(
            "INSERT INTO feed (driver_id, seq, kind, at, verifier_id, outcome, body)
             SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[],
                                  $5::BIGINT[], $6::TEXT[], $7::TEXT[])",
            &[&f.0, &f.1, &f.2, &f.3, &f.4, &outcomes, &bodies],
        )
        .await?;
        tx.commit().await?;
    }
    client
        .batch_execute(&format!(
            "UPDATE status_indices SET next = {drivers};
             ALTER TABLE drivers ALTER COLUMN id RESTART WITH {};
             ANALYZE;",
            drivers + 1
        ))
        .await?;
    Ok(())
}
