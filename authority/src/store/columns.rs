//! What both stores write the same way: the versions a driver's change bumps, the column
//! values of ids, e-licence states, review kinds and status-list bits, and feed rows.

use edl_core::credential::ElicenceStatus;
use edl_core::wire::{ElicenceState, ReviewKind, VerificationLogEntry, VerifierClass};

use super::{DriverState, FeedEvent, StoreError, VerifierAccountRow, VerifierRow};

/// Gives each changed part of `after` (licence, photo, e-licence, application) the next
/// sequence number after `seq`, and returns the last one used: sync sends a part only
/// when its version is past the wallet's cursor.
pub fn bump_versions(before: &DriverState, after: &mut DriverState, mut seq: u64) -> u64 {
    let mut bump = |v: &mut u64| {
        seq += 1;
        *v = seq;
    };
    if after.licence != before.licence {
        bump(&mut after.versions.licence);
    }
    if after.photo != before.photo {
        bump(&mut after.versions.photo);
    }
    if after.elicence != before.elicence {
        bump(&mut after.versions.elicence);
    }
    if after.phase != before.phase || after.pending_review != before.pending_review {
        bump(&mut after.versions.application);
    }
    seq
}

/// Column value of an e-licence state.
pub fn elicence_state_str(s: ElicenceState) -> &'static str {
    match s {
        ElicenceState::Active => "active",
        ElicenceState::Superseded => "superseded",
        ElicenceState::Stopped => "stopped",
    }
}

/// Inverse of [`elicence_state_str`].
pub fn parse_elicence_state(s: &str) -> Option<ElicenceState> {
    match s {
        "active" => Some(ElicenceState::Active),
        "superseded" => Some(ElicenceState::Superseded),
        "stopped" => Some(ElicenceState::Stopped),
        _ => None,
    }
}

/// Column value of a review kind.
pub fn kind_str(k: ReviewKind) -> &'static str {
    match k {
        ReviewKind::Application => "application",
        ReviewKind::PhotoChange => "photo_change",
    }
}

/// The two bits of the status list (values as in `edl_core::credential::StatusList`).
pub fn status_bits(s: ElicenceStatus) -> i16 {
    match s {
        ElicenceStatus::InForce => 0,
        ElicenceStatus::Superseded => 1,
        ElicenceStatus::Suspended => 2,
    }
}

/// Inverse of [`status_bits`].
pub fn status_from_bits(bits: i16) -> Result<ElicenceStatus, StoreError> {
    match bits {
        0 => Ok(ElicenceStatus::InForce),
        1 => Ok(ElicenceStatus::Superseded),
        2 => Ok(ElicenceStatus::Suspended),
        _ => Err(StoreError::Corrupt("status")),
    }
}

/// A verifier row's `id, name, class` as both stores read them.
pub fn verifier_row(id: i64, name: String, class: &str) -> Result<VerifierRow, StoreError> {
    Ok(VerifierRow {
        id: u(id),
        name,
        class: VerifierClass::from_name(class).ok_or(StoreError::Corrupt("class"))?,
    })
}

/// A verifier account's `id, name, class, created_at, revoked_at` as both stores read them
/// (D196).
pub type AccountColumns = (i64, String, String, i64, Option<i64>);

/// [`AccountColumns`] as the account they hold.
pub fn verifier_account(
    (id, name, class, created_at, revoked_at): AccountColumns,
) -> Result<VerifierAccountRow, StoreError> {
    Ok(VerifierAccountRow {
        verifier: verifier_row(id, name, &class)?,
        created_at: u(created_at),
        revoked_at: revoked_at.map(u),
    })
}

/// Ids and times as stored: they are below 2^63 (ids are masked to 63 bits when made). A
/// larger value (a caller's cursor or bound) is taken as the largest a column holds, never
/// wrapped to a negative one: a page `after` it lists nothing rather than the first page
/// again (twenty-fourth review, AE-F4).
pub fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Inverse of [`i`].
pub fn u(v: i64) -> u64 {
    v as u64
}

/// A feed row's columns besides the key: `(kind, at, verifier_id, outcome, body)`.
pub type FeedColumns = (&'static str, i64, Option<i64>, Option<String>, String);

/// How `event` is stored.
pub fn feed_columns(event: &FeedEvent) -> Result<FeedColumns, StoreError> {
    let (kind, at, verifier, outcome, body) = match event {
        FeedEvent::Message(m) => ("message", m.at, None, None, serde_json::to_string(m)),
        FeedEvent::Review(r) => ("review", r.decided_at, None, None, serde_json::to_string(r)),
        FeedEvent::Verification { verifier_id, entry } => (
            "verification",
            entry.at,
            Some(i(*verifier_id)),
            Some(outcome_str(entry)),
            serde_json::to_string(entry),
        ),
    };
    let body = body.map_err(|_| StoreError::Corrupt("feed entry"))?;
    Ok((kind, i(at), verifier, outcome, body))
}

fn outcome_str(entry: &VerificationLogEntry) -> String {
    serde_json::to_value(entry.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A stored feed entry back.
pub fn decode_feed(
    kind: &str,
    body: &str,
    verifier_id: Option<i64>,
) -> Result<FeedEvent, StoreError> {
    let bad = |_| StoreError::Corrupt("feed entry");
    Ok(match kind {
        "message" => FeedEvent::Message(serde_json::from_str(body).map_err(bad)?),
        "review" => FeedEvent::Review(serde_json::from_str(body).map_err(bad)?),
        "verification" => FeedEvent::Verification {
            verifier_id: u(verifier_id.unwrap_or(0)),
            entry: serde_json::from_str(body).map_err(bad)?,
        },
        _ => return Err(StoreError::Corrupt("feed kind")),
    })
}

#[cfg(test)]
mod tests {
    use edl_core::licence::fixtures::sample_licence;
    use edl_core::wire::ApplicationPhase;

    use super::*;

    #[test]
    fn a_value_past_what_a_column_holds_is_the_largest_never_a_negative_one() {
        assert_eq!(i(0), 0);
        assert_eq!(i(1 << 62), 1 << 62);
        assert_eq!(i(u64::try_from(i64::MAX).unwrap()), i64::MAX);
        assert_eq!(i(u64::try_from(i64::MAX).unwrap() + 1), i64::MAX);
        assert_eq!(i(u64::MAX), i64::MAX);
        assert_eq!(u(i(12_345)), 12_345);
    }

    #[test]
    fn only_changed_parts_get_new_versions_in_order() {
        let before = DriverState::new(sample_licence(time::macros::date!(2026 - 12 - 03)));
        let mut after = before.clone();
        assert_eq!(bump_versions(&before, &mut after, 7), 7, "nothing changed");
        after.licence.main.name.push('甲');
        after.phase = if before.phase == ApplicationPhase::Issued {
            ApplicationPhase::ReapplyNeeded
        } else {
            ApplicationPhase::Issued
        };
        assert_eq!(bump_versions(&before, &mut after, 7), 9);
        assert_eq!(after.versions.licence, 8);
        assert_eq!(after.versions.application, 9);
        assert_eq!(after.versions.photo, before.versions.photo);
    }

    #[test]
    fn column_values_read_back() {
        for s in [
            ElicenceState::Active,
            ElicenceState::Superseded,
            ElicenceState::Stopped,
        ] {
            assert_eq!(parse_elicence_state(elicence_state_str(s)), Some(s));
        }
        for s in [
            ElicenceStatus::InForce,
            ElicenceStatus::Superseded,
            ElicenceStatus::Suspended,
        ] {
            assert_eq!(status_from_bits(status_bits(s)).unwrap(), s);
        }
        assert!(status_from_bits(3).is_err());
    }
}
