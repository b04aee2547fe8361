//! The failed-check limits inside the writer's batch (D163, D165): which `guess_locks`
//! rows a batch takes, what a right code waits for, and the reads that decide each check.
//!
//! Every batch takes its rows in one order: its nonces (key order), the `guess_locks` rows
//! of its failures in name order, then its drivers' rows in id order
//! (`writer::last_seqs`). A failure updates its target's and its verifier's rows, so
//! batches storing failures on one licence or by one verifier take turns. A right code
//! takes no row: before its batch's transaction it waits, holding nothing, for the
//! batches still storing its verifier's failures (D165), and a right code and the
//! failures on its licence take turns on the driver's row.

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

fn target_name(target: &str) -> String {
    format!("t:{target}")
}

fn verifier_name(verifier: u64) -> String {
    format!("v:{verifier}")
}

/// The `guess_locks` rows the batch's failures update, in name order (Rust's byte order,
/// which the prune's `COLLATE "C"` matches), each with its newest failure's time.
fn failure_rows(checks: &[Option<BudgetCheck>]) -> BTreeMap<String, i64> {
    let mut names: BTreeMap<String, i64> = BTreeMap::new();
    for c in checks.iter().flatten().filter(|c| c.failure) {
        // A failure counts on its target for everyone, the police's included.
        for name in [target_name(&c.target), verifier_name(c.verifier)] {
            let at = names.entry(name).or_insert(0);
            *at = (*at).max(i(c.at));
        }
    }
    names
}

/// The rows of the verifiers of the batch's right codes, in name order.
fn right_code_rows(checks: &[Option<BudgetCheck>]) -> BTreeSet<String> {
    checks
        .iter()
        .flatten()
        .filter(|c| !c.failure)
        .map(|c| verifier_name(c.verifier))
        .collect()
}

/// Waits, before the batch's transaction and holding nothing, for every batch that is
/// still storing a failure of a verifier whose right code this batch claims (D165), so
/// the claim's read of the failures, later, sees them. The statement makes the
/// verifier's `guess_locks` row where it is missing (`at` the check's time, so the prune
/// leaves it a day), and its uniqueness check waits for any transaction still inserting,
/// updating or deleting that row: a failure's batch updates it (`lock_failure_rows`),
/// the prune deletes it. Where the row is there and nobody is writing it, it writes
/// nothing, so there is no commit to wait for. A share lock held through the batch would
/// also order them, but a batch storing a failure would then wait for every other
/// process's right codes of that verifier, and newer share lockers go ahead of it: a
/// busy verifier's checks stalled another process's whole writer (fifth review, L-F1).
pub async fn wait_for_failures_in_flight(
    conn: &Object,
    checks: &[Option<BudgetCheck>],
) -> Result<(), Fault> {
    let names: Vec<String> = right_code_rows(checks).into_iter().collect();
    let at = checks.iter().flatten().map(|c| c.at).max().unwrap_or(0);
    wait_for_writers_of(conn, names, at).await
}

/// Waits, holding nothing, for the batches still storing failures on `target` or by
/// `verifier` (L-F4): before the read of the stored failures that decides an answer
/// without the writer (a code spent here before, a stopped or superseded e-licence), so
/// that past the limits it is refused as a wrong code in its place would be. As
/// [`wait_for_failures_in_flight`], making the rows where missing.
pub async fn wait_for_failures_on(
    conn: &Object,
    verifier: u64,
    target: &str,
    at: u64,
) -> Result<(), Fault> {
    let mut names = vec![target_name(target), verifier_name(verifier)];
    names.sort();
    wait_for_writers_of(conn, names, at).await
}

/// The statement both waits run: `names` (in byte order, as every batch takes them) made
/// where missing, with `at` as their time; its uniqueness check waits for whoever is still
/// writing one of them.
async fn wait_for_writers_of(conn: &Object, names: Vec<String>, at: u64) -> Result<(), Fault> {
    if names.is_empty() {
        return Ok(());
    }
    let ats = vec![i(at); names.len()];
    let st = conn
        .prepare_cached(
            "INSERT INTO guess_locks (name, at)
             SELECT * FROM unnest($1::TEXT[], $2::BIGINT[])
             ON CONFLICT (name) DO NOTHING",
        )
        .await?;
    conn.execute(&st, &[&names, &ats]).await?;
    Ok(())
}

/// Takes the `guess_locks` rows of the batch's failures (D163), in name order, making
/// those missing and updating each to its newest failure: a row per target and per
/// verifier, so batches that store failures on one licence or by one verifier take turns,
/// each reading the failures of the one before. The update is also what a right code's
/// batch waits for (`wait_for_failures_in_flight`). Right codes take no row, so no batch
/// waits for a right code's, and two batches never hold rows the other wants in the
/// opposite order (third review, J-F3).
pub async fn lock_failure_rows(
    tx: &Transaction<'_>,
    checks: &[Option<BudgetCheck>],
) -> Result<(), Fault> {
    let (names, ats): (Vec<String>, Vec<i64>) = failure_rows(checks).into_iter().unzip();
    if names.is_empty() {
        return Ok(());
    }
    let st = tx
        .prepare_cached(
            "INSERT INTO guess_locks (name, at)
             SELECT * FROM unnest($1::TEXT[], $2::BIGINT[])
             ON CONFLICT (name) DO UPDATE SET at = GREATEST(guess_locks.at, EXCLUDED.at)",
        )
        .await?;
    tx.execute(&st, &[&names, &ats]).await?;
    Ok(())
}

/// Decides each job's limits in job order (D163): why, for a job refused. Runs once the
/// failures' `guess_locks` rows and the drivers' rows are held (and the batches storing
/// the right codes' verifiers' failures were waited for), in statements of their own, so
/// each read sees the failures of whoever held them before (READ COMMITTED). A failure
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
    let st = tx.prepare_cached(sql).await?;
    for row in tx.query(&st, &[keys, &since]).await? {
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
    fn a_failure_updates_its_target_s_and_verifier_s_rows_and_a_right_code_waits_on_its_verifier_s()
    {
        let checks = [
            check("A", 7, 100, true),
            None,
            check("B", 8, 90, false),
            check("C", 7, 120, true),
            check("A", 7, 110, false),
        ];
        let updated: Vec<(String, i64)> = failure_rows(&checks).into_iter().collect();
        let expected = [("t:A", 100), ("t:C", 120), ("v:7", 120)];
        assert_eq!(updated, expected.map(|(name, at)| (name.to_owned(), at)));
        let waited: Vec<String> = right_code_rows(&checks).into_iter().collect();
        assert_eq!(waited, ["v:7", "v:8"]);
    }
}
