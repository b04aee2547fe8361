//! The rules that change a driver: each is a pure function of the aggregate
//! ([`DriverState`]) and the facts of the request, returning what else the change does
//! ([`Effects`]: feed entries, photo rows and decisions, a refusal to answer with).
//! The service runs them inside [`crate::store::RegistryStore::update_driver`], which
//! saves the aggregate and the effects in one transaction. Time, keys and randomness
//! come in as arguments ([`Signing`], [`Fresh`]), so every rule is tested here without a
//! database.

use edl_core::credential::{ElicenceId, Issuance, Issuer};
use edl_core::crypto::PublicKey;
use edl_core::licence::{
    LicenceStatus, POINTS_LIMIT, PointsCycle, RecordEntry, StatusCode, e_licence_eligibility,
};
use edl_core::verify::china_date;
use edl_core::wire::{
    ApplicationPhase, Base64, ElicenceState, NewViolation, Renewal, ReviewKind, ReviewOutcome,
    ReviewResult,
};

use super::messages;
use super::{check_issuable, live_licence};
use crate::error::{Error, Result};
use crate::store::{
    Activation, Bytes32, Challenge, DriverState, Effects, ElicenceRecord, FeedEvent, PhotoDecision,
    PhotoOnFile, PhotoRow, PhotoStatus, SealedSeed, StoreError,
};

/// Photos a driver's wallet may upload in any 24 hours, whatever idempotency keys it
/// uses (D82): enough to retake a rejected photo several times a day, too few to matter
/// on disk (withdrawn and rejected photos keep no bytes).
pub const MAX_UPLOADS_PER_DAY: usize = 6;

const DAY: u64 = 24 * 3600;

/// Record entries kept per licence: bounds the signed enforcement view (a u16 length)
/// and the live view.
pub const MAX_RECORD_ENTRIES: usize = 100;

/// What signing a credential needs: the current issuer, the time, the lifetime.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    /// The current issuer key.
    pub issuer: &'a Issuer,
    /// Unix seconds.
    pub now: u64,
    /// Credential lifetime in hours (at least 1).
    pub ttl_hours: u16,
}

/// The identity of a new e-licence, drawn by the caller so the rules stay pure.
#[derive(Debug, Clone)]
pub struct Fresh {
    /// The e-licence id.
    pub id: u64,
    /// The TOTP seed of its online codes, sealed under the KEK for this id.
    pub seed: SealedSeed,
    /// Its index in the signed status list (allocated by the store).
    pub status_index: u32,
}

/// A photo that arrives already approved (at a counter): its id, digest and bytes.
#[derive(Debug, Clone)]
pub struct CounterPhoto {
    /// The id to store it under.
    pub photo_id: u64,
    /// SHA-256 of the bytes.
    pub digest: [u8; 32],
    /// JPEG or PNG bytes.
    pub bytes: Vec<u8>,
}

/// A photo uploaded by the wallet, for review.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The id to store it under.
    pub photo_id: u64,
    /// The wallet's idempotency key.
    pub client_key: String,
    /// SHA-256 of the bytes.
    pub digest: [u8; 32],
    /// JPEG or PNG bytes.
    pub bytes: Vec<u8>,
    /// The review deadline.
    pub deadline: u64,
}

fn datetime(now: u64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Whether the licence may have an e-licence today.
pub fn eligible(licence: &edl_core::licence::Licence, now: u64) -> Result<()> {
    e_licence_eligibility(
        &licence.main.status,
        licence.main.valid_until,
        china_date(now),
    )
    .map_err(Error::NotEligible)
}

/// Signs a credential for the driver's current data under e-licence `id` with `seed`.
fn sign(
    s: &mut DriverState,
    k: Signing<'_>,
    id: u64,
    seed: SealedSeed,
    status_index: u32,
) -> Result<ElicenceRecord> {
    // Never towards an older key than the one that signed the e-licence on record: these
    // keys were read before a rotation elsewhere (D142).
    signs_forward(s, k.issuer.kid().0)?;
    // The credential is bound to the device that passed the real-person check: a device
    // enrolled since, not yet checked, gets nothing (D76).
    let device = s
        .identity_key
        .or(s.device_key)
        .ok_or(Error::InvalidState("no device enrolled on the account"))?;
    let device = PublicKey::from_bytes(&device.0).map_err(|_| StoreError::Corrupt("device key"))?;
    let photo = s
        .photo
        .as_ref()
        .ok_or(Error::InvalidState("no approved photo on file"))?;
    let mut licence = live_licence(&s.licence, k.now);
    licence.main.photo_digest = photo.digest.0;
    licence.main.generated_at = datetime(k.now);
    let credential = k.issuer.issue(
        &licence,
        Issuance {
            id: ElicenceId(id),
            device_key: device,
            issued_at: u32::try_from(k.now).unwrap_or(u32::MAX),
            ttl_hours: k.ttl_hours,
            status_index,
        },
    )?;
    s.licence = licence;
    Ok(ElicenceRecord {
        id,
        seed,
        state: ElicenceState::Active,
        credential: Base64(credential.encode()?),
        issued_at: k.now,
        expires_at: k.now + 3600 * u64::from(k.ttl_hours),
        kid: k.issuer.kid().0,
        status_index,
    })
}

/// A new e-licence (new id and seed): the previous one stops verifying. Without `fresh`
/// (a rule's first run, PH-3) nothing changes and the service is asked for one:
/// [`Error::FreshNeeded`].
fn issue_new(s: &mut DriverState, k: Signing<'_>, fresh: Option<Fresh>) -> Result<()> {
    let fresh = fresh.ok_or(Error::FreshNeeded)?;
    let record = sign(s, k, fresh.id, fresh.seed, fresh.status_index)?;
    s.elicence = Some(record);
    s.phase = ApplicationPhase::Issued;
    Ok(())
}

/// A fresh credential for the active e-licence (same id and seed, so the wallet's codes
/// keep working): after a change of status, points or photo. Nothing happens without an
/// active e-licence; a credential signed by a newer key than `k`'s refuses ([`NewerKey`]).
/// A sync's re-signing for freshness is [`refresh`].
pub fn reissue(s: &mut DriverState, k: Signing<'_>) -> Result<Effects> {
    let Some(current) = s.elicence.clone() else {
        return Ok(Effects::default());
    };
    if current.state != ElicenceState::Active {
        return Ok(Effects::default());
    }
    let record = sign(s, k, current.id, current.seed, current.status_index)?;
    s.elicence = Some(record);
    Ok(Effects::default())
}

/// The active e-licence, if any, is superseded and the driver must apply again.
fn supersede(s: &mut DriverState) {
    if let Some(e) = s.elicence.as_mut()
        && e.state == ElicenceState::Active
    {
        e.state = ElicenceState::Superseded;
        s.phase = ApplicationPhase::ReapplyNeeded;
    }
}

/// A pending review replaced before a decision: its photo is withdrawn.
fn withdraw_pending(s: &mut DriverState, now: u64, effects: &mut Effects) {
    if let Some(p) = s.pending_review.take() {
        effects.photo_decisions.push(PhotoDecision {
            photo_id: p.photo_id,
            status: PhotoStatus::Withdrawn,
            decided_at: now,
        });
        effects.discard_photo_bytes.push(p.photo_id);
    }
}

/// `photo` goes on file; the one it replaces is needed by nothing any more (the current
/// e-licence is re-signed or issued over the new one).
fn put_on_file(s: &mut DriverState, photo: PhotoOnFile, effects: &mut Effects) {
    if let Some(old) = s.photo.replace(photo)
        && Some(old.photo_id) != s.photo.as_ref().map(|p| p.photo_id)
    {
        effects.discard_photo_bytes.push(old.photo_id);
    }
}

/// A new activation code (as its hash) replaces any earlier one.
pub fn set_activation(s: &mut DriverState, activation: Activation) -> Effects {
    s.activation = Some(activation);
    Effects::default()
}

/// A new real-person check challenge replaces any earlier one.
pub fn set_challenge(s: &mut DriverState, challenge: Challenge) -> Effects {
    s.challenge = Some(challenge);
    Effects::default()
}

/// Records a violation in date order and re-signs the e-licence; a violation that takes
/// the cycle it is dated in (the current one, or an earlier one for a violation dealt
/// with late) to 12 points sets B (超分; D153). Only the crossing does: after B the office
/// decides (a driver who passed the exam is set back to A, and a later entry in a cycle
/// already full does not set B again).
pub fn record_violation(s: &mut DriverState, v: NewViolation, k: Signing<'_>) -> Result<Effects> {
    let now = k.now;
    if v.date < s.licence.main.first_issue {
        return Err(Error::BadRequest("`date` is before the first issue".into()));
    }
    if s.licence.supplementary.record.len() >= MAX_RECORD_ENTRIES {
        return Err(Error::InvalidState("the driving record is full"));
    }
    let points = v.points;
    let record = &mut s.licence.supplementary.record;
    let at = record.partition_point(|e| e.date <= v.date);
    record.insert(
        at,
        RecordEntry {
            date: v.date,
            place: v.place,
            act: v.act,
            points: v.points,
            fine_yuan: v.fine_yuan,
            handled: v.handled,
        },
    );
    s.licence = live_licence(&s.licence, now);
    let cycle = &s.licence.supplementary.cycle;
    let total = cycle.points;
    let its_own = PointsCycle::containing(
        s.licence.main.first_issue,
        v.date,
        &s.licence.supplementary.record,
    )?;
    if crosses_the_limit(&its_own, points) {
        s.licence.main.status.insert(StatusCode::OverPoints);
    }
    check_issuable(&s.licence, now)?;
    reissue(s, k)?;
    Ok(Effects {
        feed: vec![FeedEvent::Message(messages::violation_recorded(
            now, points, total,
        ))],
        ..Effects::default()
    })
}

/// Whether an entry of `points` took `cycle` (counted with it) from under the limit to it.
fn crosses_the_limit(cycle: &PointsCycle, points: u8) -> bool {
    cycle.reached_limit() && cycle.points.saturating_sub(points) < POINTS_LIMIT
}

/// Sets the status letters and re-signs the e-licence (a suspended licence's
/// credential says so).
pub fn set_status(s: &mut DriverState, status: LicenceStatus, k: Signing<'_>) -> Result<Effects> {
    s.licence.main.status = status;
    check_issuable(&s.licence, k.now)?;
    reissue(s, k)?;
    Ok(Effects {
        feed: vec![FeedEvent::Message(messages::status_changed(k.now, status))],
        ..Effects::default()
    })
}

/// Renews the licence: the changed fields, no longer overdue, and the current
/// e-licence stops verifying at once.
pub fn renew(s: &mut DriverState, r: Renewal, now: u64) -> Result<Effects> {
    let m = &mut s.licence.main;
    // A new end already past, mistyped, would end the driver's e-licence at once (D153).
    // An earlier end still to come is allowed: it corrects one typed too late.
    if let Some(d) = r.valid_until
        && d <= china_date(now)
    {
        return Err(Error::BadRequest(
            "a renewal's `valid_until` is not after today".into(),
        ));
    }
    // Only a renewal that moves the end later ends "overdue" (M) and a renewal deferral
    // (N); one that changes the classes or the authority leaves them (D153).
    let extends = r.valid_until.is_some_and(|d| d > m.valid_until);
    if let Some(c) = r.classes {
        m.classes = c;
    }
    if let Some(d) = r.valid_from {
        m.valid_from = d;
    }
    if let Some(d) = r.valid_until {
        m.valid_until = d;
    }
    if extends {
        m.status.remove(StatusCode::OverdueRenewal);
        m.status.remove(StatusCode::RenewalDeferred);
    }
    if let Some(a) = r.issuing_authority {
        s.licence.supplementary.issuing_authority = a;
    }
    check_issuable(&s.licence, now)?;
    supersede(s);
    Ok(Effects {
        feed: vec![FeedEvent::Message(messages::licence_renewed(now))],
        ..Effects::default()
    })
}

/// Counter issuance: the office checked the person and (perhaps) took a photo; the
/// e-licence goes to the enrolled app account.
pub fn counter_issue(
    s: &mut DriverState,
    photo: Option<CounterPhoto>,
    fresh: Option<Fresh>,
    k: Signing<'_>,
) -> Result<Effects> {
    let now = k.now;
    if s.device_key.is_none() {
        return Err(Error::InvalidState("no app account enrolled"));
    }
    eligible(&s.licence, now)?;
    let mut effects = Effects::default();
    if let Some(p) = photo {
        put_on_file(
            s,
            PhotoOnFile {
                photo_id: p.photo_id,
                digest: Bytes32(p.digest),
                approved_at: now,
            },
            &mut effects,
        );
        effects.new_photo = Some(PhotoRow {
            id: p.photo_id,
            driver_id: s.id,
            client_key: None,
            digest: p.digest,
            bytes: p.bytes,
            kind: ReviewKind::Application,
            status: PhotoStatus::Approved,
            submitted_at: now,
            deadline: now,
        });
    }
    withdraw_pending(s, now, &mut effects);
    // The office checked the person at the counter.
    s.identity_key = s.device_key;
    issue_new(s, k, fresh)?;
    effects
        .feed
        .push(FeedEvent::Message(messages::application_succeeded(
            now, true,
        )));
    Ok(effects)
}

/// The part approval and rejection share: the photo must still be the pending one; the
/// review ends with `status`, and the driver's feed gets the review result.
fn decide(
    s: &mut DriverState,
    photo_id: u64,
    status: PhotoStatus,
    outcome: ReviewOutcome,
    reason: Option<String>,
    now: u64,
) -> Result<Effects> {
    if s.pending_review.map(|p| p.photo_id) != Some(photo_id) {
        return Err(Error::InvalidState("the photo is no longer pending"));
    }
    s.pending_review = None;
    Ok(Effects {
        photo_decisions: vec![PhotoDecision {
            photo_id,
            status,
            decided_at: now,
        }],
        feed: vec![FeedEvent::Review(ReviewResult {
            photo_id,
            outcome,
            reason,
            decided_at: now,
        })],
        ..Effects::default()
    })
}

/// Approves the pending photo `photo_id` (SHA-256 `digest`): it goes on file; an
/// application is issued (or refused if the licence is not eligible), an issued
/// e-licence is re-signed with the new photo.
pub fn approve_photo(
    s: &mut DriverState,
    photo_id: u64,
    digest: [u8; 32],
    fresh: Option<Fresh>,
    k: Signing<'_>,
) -> Result<Effects> {
    let now = k.now;
    let mut effects = decide(
        s,
        photo_id,
        PhotoStatus::Approved,
        ReviewOutcome::Approved,
        None,
        now,
    )?;
    put_on_file(
        s,
        PhotoOnFile {
            photo_id,
            digest: Bytes32(digest),
            approved_at: now,
        },
        &mut effects,
    );
    match s.phase {
        ApplicationPhase::UnderReview | ApplicationPhase::AwaitingPhoto => {
            match eligible(&s.licence, now) {
                Ok(()) => {
                    issue_new(s, k, fresh)?;
                    effects
                        .feed
                        .push(FeedEvent::Message(messages::application_succeeded(
                            now, false,
                        )));
                }
                Err(Error::NotEligible(reason)) => {
                    s.phase = ApplicationPhase::NotApplied;
                    effects
                        .feed
                        .push(FeedEvent::Message(messages::application_refused(
                            now, reason,
                        )));
                }
                Err(e) => return Err(e),
            }
        }
        ApplicationPhase::Issued => {
            reissue(s, k)?;
            effects
                .feed
                .push(FeedEvent::Message(messages::photo_changed(now)));
        }
        _ => {}
    }
    Ok(effects)
}

/// Rejects the pending photo `photo_id` for `reason`. A malicious photo stops the
/// e-licence; an ordinary rejection sends an application back to awaiting a photo.
pub fn reject_photo(
    s: &mut DriverState,
    photo_id: u64,
    reason: &str,
    malicious: bool,
    now: u64,
) -> Result<Effects> {
    let (status, outcome) = if malicious {
        (PhotoStatus::Malicious, ReviewOutcome::RejectedMalicious)
    } else {
        (PhotoStatus::Rejected, ReviewOutcome::Rejected)
    };
    let mut effects = decide(s, photo_id, status, outcome, Some(reason.to_owned()), now)?;
    // A rejected photo's bytes go; a malicious one's stay as the evidence for the stop
    // (at most one per driver: a stopped driver uploads nothing more).
    if !malicious {
        effects.discard_photo_bytes.push(photo_id);
    }
    effects
        .feed
        .push(FeedEvent::Message(messages::photo_rejected(now, reason)));
    if malicious {
        s.phase = ApplicationPhase::Stopped;
        if let Some(e) = s.elicence.as_mut()
            && e.state == ElicenceState::Active
        {
            e.state = ElicenceState::Stopped;
        }
        effects.feed.push(FeedEvent::Message(
            messages::elicence_stopped_for_malicious_photo(now),
        ));
    } else if s.phase == ApplicationPhase::UnderReview {
        s.phase = ApplicationPhase::AwaitingPhoto;
    }
    Ok(effects)
}

mod key_order;
mod wallet;

pub use key_order::{NEWER_KEY_RETRY_SECS, NewerKey, refresh, refresh_due, signs_forward};
pub use wallet::{activation_code_matches, apply, enrol, submit_photo};

#[cfg(test)]
mod tests;
