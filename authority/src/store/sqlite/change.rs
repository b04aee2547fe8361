//! A driver's change saved on the writer: versions bumped, e-licence rows and the status
//! list kept in step, effects appended.

use rusqlite::{Connection, params};

use super::super::columns::{bump_versions, elicence_state_str, status_bits};
use super::super::{DriverState, Effects, StoreError};
use super::feed::append_feed;
use super::rows::{i, insert_photo, state_json};

/// Saves `after` over `before`: bumps the versions of changed parts, keeps the
/// e-licence table in step and appends the effects. Runs on the writer.
pub(super) fn save_change(
    conn: &Connection,
    before: &DriverState,
    mut after: DriverState,
    seq: u64,
    effects: &Effects,
) -> Result<DriverState, StoreError> {
    let mut seq = bump_versions(before, &mut after, seq);
    if let Some(new) = &after.elicence {
        let previous = before.elicence.as_ref().map(|e| e.id);
        if let Some(prev) = previous.filter(|p| *p != new.id) {
            conn.prepare_cached(
                "UPDATE elicences SET state = 'superseded', status = 1
                 WHERE id = ?1 AND state = 'active'",
            )?
            .execute([i(prev)])?;
        }
        // The status list reads this row: it changes in the same transaction as the state.
        let (index, status) = after
            .status_entry()
            .map_or((None, 1), |(index, s)| (Some(index), status_bits(s)));
        conn.prepare_cached(
            "INSERT INTO elicences (id, driver_id, seed, state, status_index, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, status = excluded.status",
        )?
        .execute(params![
            i(new.id),
            i(after.id),
            &new.seed.0[..],
            elicence_state_str(new.state),
            index,
            status
        ])?;
    }
    // The new photo before the decisions and the discards: a retry racing its own first
    // upload must meet the first's key here and fail on the unique key (answered as the
    // first), before the first, withdrawn by it, gives its key back below.
    if let Some(photo) = &effects.new_photo {
        insert_photo(conn, photo)?;
    }
    for d in &effects.photo_decisions {
        conn.prepare_cached("UPDATE photos SET status = ?2, decided_at = ?3 WHERE id = ?1")?
            .execute(params![i(d.photo_id), d.status.as_str(), i(d.decided_at)])?;
    }
    for id in &effects.discard_photo_bytes {
        // A photo whose bytes go (rejected, withdrawn, or replaced on file) gives its
        // upload key back too: sent again, it is a new submission (D219).
        conn.prepare_cached("UPDATE photos SET bytes = x'', client_key = NULL WHERE id = ?1")?
            .execute([i(*id)])?;
    }
    for event in &effects.feed {
        seq += 1;
        append_feed(conn, after.id, seq, event)?;
    }
    conn.prepare_cached("UPDATE drivers SET seq = ?2, state = ?3 WHERE id = ?1")?
        .execute(params![i(after.id), i(seq), state_json(&after)?])?;
    Ok(after)
}
