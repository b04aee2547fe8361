//! The failed-check limits inside the writer's batch (D163, D165): which `guess_locks`
//! rows a batch takes, in what order and mode, and the reads that decide each check once
//! they are held.
//!
//! Every batch takes its rows in one order: the `guess_locks` rows in name order, then
//! the drivers' rows in id order (`writer::last_seqs`). A failure takes its target's and
//! its verifier's rows for update, so batches storing failures on one licence or by one
//! verifier take turns. A right code shares its verifier's row, so it waits for the
//! batches storing that verifier's failures and they wait for it, while the right codes
//! of one verifier in several processes' batches do not wait for each other. A right
//! code and the failures on its licence take turns on the driver's row.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use deadpool_postgres::{Object, Transaction};

use super::retry::Fault;
use super::rows::i;
use crate::store::{GuessLimits, Refused};

/// What a job's limits are decided on (D163).
pub struct BudgetCheck {
    /// The limiter's name for what the check named.
    pub target: String,
    /// Who checked.
    pub verifier: u64,
    /// When.
    pub at: u64,
    /// The limits.
    pub limits: GuessLimits,
    /// A failure to store (counted by the checks after it), not a right code's claim.
    pub failure: bool,
}

/// How a batch holds one `guess_locks` row until it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Shared with other right codes' batches: a right code's verifier (D165).
    Share,
    /// Alone: a failure's target or verifier, whose row the batch also updates.
    Update,
}

/// The `guess_locks` rows `checks` need, by name (in name order): how each is held, and
/// for a row a failure updates, its newest failure's time.
fn names(checks: &[Option<BudgetCheck>]) -> BTreeMap<String, (Hold, i64)> {
    let mut names: BTreeMap<String, (Hold, i64)> = BTreeMap::new();
    for c in checks.iter().flatten() {
        if c.failure {
            // A failure counts on its target for everyone, the police's included.
            for name in [target_name(&c.target), verifier_name(c.verifier)] {
                let held = names.entry(name).or_insert((Hold::Update, 0));
                *held = (Hold::Update, held.1.max(i(c.at)));
            }
        } else {
            names
                .entry(verifier_name(c.verifier))
                .or_insert((Hold::Share, 0));
        }
    }
    names
}

fn target_name(target: &str) -> String {
    format!("t:{target}")
}

fn verifier_name(verifier: u64) -> String {
    format!("v:{verifier}")
}

/// Makes the rows the batch's right codes will share that are missing (D165), in a
/// statement of its own before the batch's transaction: a row made inside it would be
/// held alone until its commit, out of the name order. Without its row, a right code
/// would not wait for a batch that is storing its verifier's first failures. `at` is the
/// check's time, so the prune leaves the row a day; a row already there is left as it is
/// (no write, so no commit to wait for).
pub async fn make_shared_rows(conn: &Object, checks: &[Option<BudgetCheck>]) -> Result<(), Fault> {
    let names: Vec<String> = names(checks)
        .into_iter()
        .filter(|(_, (hold, _))| *hold == Hold::Share)
        .map(|(name, _)| name)
        .collect();
    let at = checks.iter().flatten().map(|c| i(c.at)).max().unwrap_or(0);
    let ats = vec![at; names.len()];
    if names.is_empty() {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO guess_locks (name, at)
         SELECT * FROM unnest($1::TEXT[], $2::BIGINT[])
         ON CONFLICT (name) DO NOTHING",
        &[&names, &ats],
    )
    .await?;
    Ok(())
}

/// Takes the batch's `guess_locks` rows (D163, D165) in name order: for update the rows
/// of its failures' targets and verifiers, making those missing, and shared the rows of
/// its right codes' verifiers. One statement per run of names held alike, so that two
/// batches never hold rows the other wants in opposite orders (third review, J-F3).
pub async fn lock_guess_rows(
    tx: &Transaction<'_>,
    checks: &[Option<BudgetCheck>],
) -> Result<(), Fault> {
    let names: Vec<(String, (Hold, i64))> = names(checks).into_iter().collect();
    for run in names.chunk_by(|a, b| a.1.0 == b.1.0) {
        let keys: Vec<&str> = run.iter().map(|(name, _)| name.as_str()).collect();
        match run[0].1.0 {
            Hold::Update => {
                let ats: Vec<i64> = run.iter().map(|(_, (_, at))| *at).collect();
                tx.execute(
                    "INSERT INTO guess_locks (name, at)
                     SELECT * FROM unnest($1::TEXT[], $2::BIGINT[])
                     ON CONFLICT (name) DO UPDATE SET at = GREATEST(guess_locks.at, EXCLUDED.at)",
                    &[&keys, &ats],
                )
                .await?;
            }
            Hold::Share => {
                tx.query(
                    "SELECT name FROM guess_locks WHERE name = ANY($1) ORDER BY name FOR SHARE",
                    &[&keys],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Decides each job's limits in job order (D163): why, for a job refused. Runs once the
/// batch's `guess_locks` rows and the drivers' rows are held, in statements of their own,
/// so each read sees the failures of whoever held them before (READ COMMITTED). A failure
/// admitted here counts for the jobs after it in the batch.
pub async fn decide_budgets(
    tx: &Transaction<'_>,
    checks: &[Option<BudgetCheck>],
) -> Result<Vec<Option<Refused>>, Fault> {
    let mut targets: BTreeSet<String> = BTreeSet::new();
    let mut verifiers: BTreeSet<i64> = BTreeSet::new();
    for c in checks.iter().flatten() {
        if c.failure || c.limits.target_max.is_some() {
            targets.insert(c.target.clone());
        }
        verifiers.insert(i(c.verifier));
    }
    let since = |back: fn(&GuessLimits) -> u64| {
        let at = checks
            .iter()
            .flatten()
            .map(|c| c.at.saturating_sub(back(&c.limits)));
        i(at.min().unwrap_or(0))
    };
    // A verifier's lock-out outlasts the window (D163, H-F4).
    let (target_since, verifier_since) = (since(|l| l.window), since(GuessLimits::memory));
    let mut on_target: HashMap<String, Vec<u64>> = if targets.is_empty() {
        HashMap::new()
    } else {
        let targets: Vec<String> = targets.into_iter().collect();
        let sql = "SELECT target, at FROM check_failures WHERE target = ANY($1) AND at >= $2";
        failure_times(tx, sql, &targets, target_since).await?
    };
    let verifiers: Vec<i64> = verifiers.into_iter().collect();
    let sql = "SELECT verifier_id, at FROM check_failures WHERE verifier_id = ANY($1) AND at >= $2";
    let mut by_verifier: HashMap<i64, Vec<u64>> =
        failure_times(tx, sql, &verifiers, verifier_since).await?;
    Ok(checks
        .iter()
        .map(|c| {
            let c = c.as_ref()?;
            let target = on_target.entry(c.target.clone()).or_default();
            let verifier = by_verifier.entry(i(c.verifier)).or_default();
            let refused = c.limits.refusal(target, verifier, c.at);
            if refused.is_none() && c.failure {
                target.push(c.at);
                verifier.push(c.at);
            }
            refused
        })
        .collect())
}

/// The times of the failures since `since` of each of `keys`, by `sql`: a statement whose
/// first column is the key, its second the time, and whose parameters are `keys` and
/// `since`.
async fn failure_times<K>(
    tx: &Transaction<'_>,
    sql: &str,
    keys: &(dyn tokio_postgres::types::ToSql + Sync),
    since: i64,
) -> Result<HashMap<K, Vec<u64>>, Fault>
where
    K: for<'a> tokio_postgres::types::FromSql<'a> + std::hash::Hash + Eq,
{
    let mut times: HashMap<K, Vec<u64>> = HashMap::new();
    for row in tx.query(sql, &[keys, &since]).await? {
        times
            .entry(row.get(0))
            .or_default()
            .push(row.get::<_, i64>(1) as u64);
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: GuessLimits = GuessLimits {
        target_max: Some(10),
        verifier_max: 30,
        window: 900,
        verifier_lockout: 3600,
    };

    fn check(target: &str, verifier: u64, at: u64, failure: bool) -> Option<BudgetCheck> {
        Some(BudgetCheck {
            target: target.into(),
            verifier,
            at,
            limits: LIMITS,
            failure,
        })
    }

    #[test]
    fn a_failure_updates_its_target_and_verifier_rows_and_a_right_code_shares_its_verifier_s() {
        let names = names(&[check("A", 7, 100, true), None, check("B", 8, 90, false)]);
        let held: Vec<(&str, Hold, i64)> = names
            .iter()
            .map(|(name, (hold, at))| (name.as_str(), *hold, *at))
            .collect();
        assert_eq!(
            held,
            [
                ("t:A", Hold::Update, 100),
                ("v:7", Hold::Update, 100),
                ("v:8", Hold::Share, 0),
            ]
        );
    }

    #[test]
    fn a_verifier_with_a_failure_and_a_right_code_in_one_batch_has_its_row_updated_once() {
        for order in [[true, false], [false, true]] {
            let checks: Vec<_> = order
                .iter()
                .enumerate()
                .map(|(k, &failure)| check("A", 7, 100 + k as u64, failure))
                .collect();
            let names = names(&checks);
            assert_eq!(names["v:7"].0, Hold::Update, "{order:?}");
            assert_eq!(names.len(), 2, "{order:?}");
        }
    }
}
