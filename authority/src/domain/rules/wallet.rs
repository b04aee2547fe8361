//! The rules of the driver's own wallet: enrolment, the application after the
//! real-person check, and photo uploads.

use edl_core::crypto::ct_eq;
use edl_core::wire::{ApplicationPhase, ApplyRequest, IdentityProof, ReviewKind, ReviewPending};

use super::super::messages;
use super::{
    DAY, Fresh, MAX_UPLOADS_PER_DAY, Signing, Upload, eligible, issue_new, supersede,
    withdraw_pending,
};
use crate::error::{Error, Result};
use crate::identity::IdentityVerifier;
use crate::store::{Bytes32, DriverState, Effects, EnrolledWith, FeedEvent, PhotoRow, PhotoStatus};

/// Whether `code_hash` is the hash of the driver's activation code, still valid at `now`,
/// or of the code that enrolled `device_key` last, not yet expired (the same device asking
/// again, AN-F2): decided on a read, so a wrong code goes nowhere near the writer
/// (twenty-seventh review, AH-F2: a wrong code's write told, by its time, a registered
/// licence number and one with a code waiting from an unknown one). [`enrol`] decides
/// again inside the write.
pub fn activation_code_matches(
    s: &DriverState,
    code_hash: &[u8; 32],
    device_key: &[u8; 32],
    now: u64,
) -> bool {
    s.activation
        .as_ref()
        .is_some_and(|act| act.expires_at > now && ct_eq(&act.code_hash.0, code_hash))
        || enrolled_again(s, code_hash, device_key, now)
}

/// Whether `device_key` with `code_hash` is the driver's last enrolment asked again: the
/// same code and key, the code not yet expired, the key still the enrolled one.
fn enrolled_again(s: &DriverState, code_hash: &[u8; 32], device_key: &[u8; 32], now: u64) -> bool {
    s.enrolled_with.as_ref().is_some_and(|last| {
        last.expires_at > now
            && ct_eq(&last.code_hash.0, code_hash)
            && last.device_key.0 == *device_key
            && s.device_key == Some(last.device_key)
    })
}

/// Enrols `device_key` with the activation code hashing to `code_hash`. A wrong code is
/// refused and changes nothing; it does not burn the code (D75: the service's back-off
/// limits guessing, so nobody can stop a driver from enrolling). A new device does not
/// supersede the active e-licence: that waits for its real-person check ([`apply`], D76).
///
/// The code is used up as ever; the enrolment is remembered beside it until the code
/// would have expired (AN-F2, D212): the same key with the same code again is enrolled
/// already and changes nothing, so a wallet whose answer was lost, or which could not
/// store what it got, finishes with the code the driver has. Any other key is refused.
pub fn enrol(
    s: &mut DriverState,
    code_hash: [u8; 32],
    device_key: [u8; 32],
    now: u64,
) -> Result<Effects> {
    let refuse = || {
        Ok(Effects {
            refuse: Some(Error::BadActivationCode),
            ..Effects::default()
        })
    };
    if enrolled_again(s, &code_hash, &device_key, now) {
        return Ok(Effects::default());
    }
    let Some(act) = s.activation.as_ref() else {
        return Err(Error::BadActivationCode);
    };
    if act.expires_at <= now {
        s.activation = None;
        return refuse();
    }
    if !ct_eq(&act.code_hash.0, &code_hash) {
        return Err(Error::BadActivationCode);
    }
    s.enrolled_with = Some(EnrolledWith {
        code_hash: Bytes32(code_hash),
        device_key: Bytes32(device_key),
        expires_at: act.expires_at,
    });
    s.activation = None;
    let mut effects = Effects::default();
    if s.device_key != Some(Bytes32(device_key)) {
        s.device_key = Some(Bytes32(device_key));
        effects
            .feed
            .push(FeedEvent::Message(messages::device_enrolled(now)));
    }
    Ok(effects)
}

/// Applies for the e-licence: a real-person check unless this device passed one (the
/// challenge is used up whatever the outcome), then issuance at once with a photo on
/// file no older than `photo_max_age` seconds, or a wait for a photo.
pub fn apply(
    s: &mut DriverState,
    a: ApplyRequest,
    identity: &dyn IdentityVerifier,
    photo_max_age: u64,
    fresh: Option<Fresh>,
    k: Signing<'_>,
) -> Result<Effects> {
    let now = k.now;
    let checked = s.identity_key.is_some() && s.identity_key == s.device_key;
    let mut effects = Effects::default();
    // A device not yet checked passes the real-person check before it hears anything of
    // the licence's standing (a stop, revoked, suspended): an intercepted activation code
    // opens no personal data (D76; fourth hostile review, P1; D148).
    if !checked {
        let proof = a.identity.as_ref().ok_or(Error::IdentityCheckRequired)?;
        if !passes_identity_check(s, proof, identity, now) {
            effects.refuse = Some(Error::IdentityCheckFailed);
            return Ok(effects);
        }
    }
    match s.phase {
        ApplicationPhase::Stopped => return Err(Error::ElicenceStopped),
        // Applying again from the checked device while issued or under review changes
        // nothing.
        ApplicationPhase::Issued | ApplicationPhase::UnderReview if checked => {
            return Ok(Effects::default());
        }
        _ => {}
    }
    eligible(&s.licence, now)?;
    if !checked {
        // This device passed: it takes over, and the e-licence of the previous one stops
        // verifying only now (D76). A photo the previous device sent for review goes with
        // it (PH-1): approved, it would put that device's choice of face on this one's
        // e-licence. An application waiting on it starts again from the photo on file, or
        // waits for this device's photo.
        s.identity_key = s.device_key;
        withdraw_pending(s, now, &mut effects);
        supersede(s);
    }
    let reusable = s
        .photo
        .as_ref()
        .is_some_and(|p| now.saturating_sub(p.approved_at) <= photo_max_age);
    if a.reuse_stored_photo && reusable {
        issue_new(s, k, fresh)?;
        effects
            .feed
            .push(FeedEvent::Message(messages::application_succeeded(
                now, false,
            )));
    } else {
        s.phase = ApplicationPhase::AwaitingPhoto;
    }
    Ok(effects)
}

/// Whether `proof` answers the driver's open challenge. The challenge is used up whatever
/// the outcome (an error of the application after it rolls that back with the rest).
fn passes_identity_check(
    s: &mut DriverState,
    proof: &IdentityProof,
    identity: &dyn IdentityVerifier,
    now: u64,
) -> bool {
    let challenge = s.challenge.take();
    challenge.is_some_and(|c| {
        c.id == proof.challenge_id
            && c.expires_at > now
            && identity.verify(
                &c.nonce.0,
                &s.licence.main.licence_number,
                proof.attestation.as_bytes(),
            )
    })
}

/// Takes a wallet's photo for review, at most [`MAX_UPLOADS_PER_DAY`] a day: the phase decides whether one is wanted and what
/// kind of review it gets, here in the same update that stores it, so a stop or a renewal
/// committed a moment earlier is seen (a phase read before the update could be stale).
/// A photo change is refused while the busy switch is on (`busy`, as read from the store:
/// a read that failed refuses a change with its error, and nothing else, D177). It replaces
/// (withdraws) a photo still pending, and an application awaiting a photo goes under review.
pub fn submit_photo(
    s: &mut DriverState,
    u: Upload,
    busy: Result<Option<u32>>,
    now: u64,
) -> Result<Effects> {
    let kind = match s.phase {
        ApplicationPhase::Stopped => return Err(Error::ElicenceStopped),
        ApplicationPhase::AwaitingPhoto | ApplicationPhase::UnderReview => ReviewKind::Application,
        ApplicationPhase::Issued => ReviewKind::PhotoChange,
        ApplicationPhase::NotApplied | ApplicationPhase::ReapplyNeeded => {
            return Err(Error::InvalidState("apply for the e-licence first"));
        }
    };
    if kind == ReviewKind::PhotoChange
        && let Some(secs) = busy?
    {
        return Err(Error::Busy {
            retry_after: u64::from(secs),
        });
    }
    s.recent_uploads.retain(|&t| t + DAY > now);
    if s.recent_uploads.len() >= MAX_UPLOADS_PER_DAY {
        let oldest = s.recent_uploads.iter().min().copied().unwrap_or(now);
        return Err(Error::Busy {
            retry_after: (oldest + DAY).saturating_sub(now).max(1),
        });
    }
    s.recent_uploads.push(now);
    let mut effects = Effects::default();
    withdraw_pending(s, now, &mut effects);
    s.pending_review = Some(ReviewPending {
        photo_id: u.photo_id,
        submitted_at: now,
        deadline: u.deadline,
    });
    if s.phase == ApplicationPhase::AwaitingPhoto {
        s.phase = ApplicationPhase::UnderReview;
    }
    effects.new_photo = Some(PhotoRow {
        id: u.photo_id,
        driver_id: s.id,
        client_key: Some(u.client_key),
        digest: u.digest,
        bytes: u.bytes,
        kind,
        status: PhotoStatus::Pending,
        submitted_at: now,
        deadline: u.deadline,
    });
    Ok(effects)
}
