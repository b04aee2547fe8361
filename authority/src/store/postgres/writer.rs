//! Group commit of the append-only writes: wallet nonces, verification log entries and
//! failed online checks.
//!
//! One task takes every job waiting in its queue (up to [`MAX_BATCH`]) and writes them
//! in one transaction with a few array statements (`unnest`), so one commit (one WAL
//! flush) covers many requests. Each caller is answered only after the transaction that
//! holds its row has committed: nothing acknowledged is lost. A batch that fails
//! transiently before its commit is redone (bounded, `retry.rs`); then every caller in it
//! gets the error. A batch whose commit went unanswered is asked about by its mark
//! (`marks.rs`, D169): answered if it was kept, redone if it was not.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use edl_core::wire::VerificationLogEntry;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::limits::{BudgetCheck, decide_budgets, lock_failure_rows, wait_for_failures_in_flight};
use super::marks;
use super::prune::prune;
use super::retry::{Fault, commit, drop_idle_if_lost, with_retry};
use super::rows::{feed_columns, i};
use crate::clock::Clock;
use crate::guard::{Claim, CodeKey};
use crate::store::held::{BatchClock, BatchShape};
use crate::store::{Budget, CheckFailure, DriverId, FeedEvent, GuessLimits, StoreError};

/// Jobs per transaction at most: bounds the latency one batch adds.
const MAX_BATCH: usize = 512;
/// How often expired nonces, failures, spent codes, batch marks and enrolment back-off
/// counters are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

// The batch's statements, prepared once a connection (deadpool's statement cache): a
// statement sent as text is parsed and described in a round trip of its own before it
// runs, and every check waits for its batch (D191).
const INSERT_NONCES: &str = "INSERT INTO nonces (account, nonce, ts)
     SELECT * FROM unnest($1::BIGINT[], $2::BYTEA[], $3::BIGINT[])
     ON CONFLICT DO NOTHING
     RETURNING account, nonce";
const INSERT_FAILURES: &str = "INSERT INTO check_failures (at, verifier_id, target)
     SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[])";
const INSERT_SPENT_CODES: &str =
    "INSERT INTO spent_codes (elicence_id, window_start, audience, form, at, verifier_id)
     SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::SMALLINT[],
                          $4::SMALLINT[], $5::BIGINT[], $6::BIGINT[])
     ON CONFLICT DO NOTHING
     RETURNING elicence_id, window_start, audience, form, verifier_id, at";
// A plain join on `unnest` (D87).
const CODE_HOLDERS: &str =
    "SELECT s.elicence_id, s.window_start, s.audience, s.form, s.verifier_id, s.at
     FROM spent_codes AS s
     JOIN unnest($1::BIGINT[], $2::BIGINT[], $3::SMALLINT[], $4::SMALLINT[])
         AS v (elicence_id, window_start, audience, form)
     ON s.elicence_id = v.elicence_id AND s.window_start = v.window_start
        AND s.audience = v.audience AND s.form = v.form";
const LOCK_DRIVERS: &str =
    "SELECT id, seq FROM drivers WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";
const LAST_FEED_SEQS: &str =
    "SELECT driver_id, max(seq) FROM feed WHERE driver_id = ANY($1) GROUP BY driver_id";
const INSERT_FEED: &str = "INSERT INTO feed (driver_id, seq, kind, at, verifier_id, outcome, body)
     SELECT v.driver_id, v.seq, 'verification', v.at, v.verifier_id, v.outcome, v.body
     FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[], $6::TEXT[])
         AS v (driver_id, seq, at, verifier_id, outcome, body)";

/// Held by a writer job's caller while it waits for the answer: the writer sees through
/// its [`Watch`], at any point of a batch, whether anyone still does (D183).
pub struct Waiter {
    _held: Arc<()>,
}

impl Waiter {
    /// A caller's, and the watch the job carries.
    pub fn watched() -> (Waiter, Watch) {
        let held = Arc::new(());
        let watch = Watch(Arc::downgrade(&held));
        (Waiter { _held: held }, watch)
    }
}

/// Whether a job's caller still waits: its [`Waiter`] not yet dropped.
#[derive(Clone)]
pub struct Watch(std::sync::Weak<()>);

impl Watch {
    /// The caller stopped waiting (its request dropped at its deadline, or by its client).
    fn gone(&self) -> bool {
        self.0.strong_count() == 0
    }
}

/// One append waiting for its batch.
pub enum Job {
    /// `record_nonce`: answered `true` if the nonce is new.
    Nonce {
        /// The account.
        account: DriverId,
        /// The nonce.
        nonce: [u8; 16],
        /// The request's timestamp.
        ts: u64,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
    /// `log_verification`.
    Log {
        /// Whose log.
        driver: DriverId,
        /// Who checked.
        verifier_id: u64,
        /// The entry.
        entry: VerificationLogEntry,
        /// The online code the entry spends, if any (D106).
        spends: Option<CodeKey>,
        /// The limits the entry is held to (D163), if any.
        budget: Option<Budget>,
        /// Where the answer goes: what became of the claim on the code (D108).
        reply: oneshot::Sender<Result<Claim, StoreError>>,
        /// Whether its caller still waits for the answer (D183).
        waiting: Watch,
    },
    /// `record_check_failure`: the failure and its log entry in the same transaction.
    Failure {
        /// The failure.
        failure: CheckFailure,
        /// For a real driver, the entry in its log.
        log: Option<(DriverId, VerificationLogEntry)>,
        /// The limits the failure is held to (D163).
        limits: GuessLimits,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

impl Job {
    /// The online code the job spends, if any, with who spends it and when.
    fn spends(&self) -> Option<Spend> {
        match self {
            Job::Log {
                spends: Some(code),
                verifier_id,
                entry,
                ..
            } => Some((*code, *verifier_id, entry.at)),
            _ => None,
        }
    }

    /// The watch on the caller of a claim on a code: the one write left out when nobody
    /// waits for it (D183).
    fn claim_watch(&self) -> Option<&Watch> {
        match self {
            Job::Log {
                spends: Some(_),
                waiting,
                ..
            } => Some(waiting),
            _ => None,
        }
    }

    /// Whether the job is a claim on a code whose caller has stopped waiting for it.
    fn abandoned(&self) -> bool {
        self.claim_watch().is_some_and(Watch::gone)
    }

    /// What the job's limits are decided on (D163), if it is held to any.
    fn budget(&self) -> Option<BudgetCheck> {
        match self {
            Job::Log {
                budget: Some(b),
                verifier_id,
                entry,
                ..
            } => Some(BudgetCheck {
                target: b.target.clone(),
                verifier: *verifier_id,
                at: entry.at,
                limits: b.limits,
                failure: false,
            }),
            Job::Failure {
                failure, limits, ..
            } => Some(BudgetCheck {
                target: failure.target.clone(),
                verifier: failure.verifier_id,
                at: failure.at,
                limits: *limits,
                failure: true,
            }),
            _ => None,
        }
    }

    /// The verification log entry the job appends, if any: `(driver, verifier, entry)`.
    fn log(&self) -> Option<(DriverId, u64, &VerificationLogEntry)> {
        match self {
            Job::Log {
                driver,
                verifier_id,
                entry,
                ..
            } => Some((*driver, *verifier_id, entry)),
            Job::Failure {
                failure,
                log: Some((driver, entry)),
                ..
            } => Some((*driver, failure.verifier_id, entry)),
            _ => None,
        }
    }
}

/// Keeps nonces this long past their timestamp.
pub struct Retention {
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Seconds a nonce is kept.
    pub nonce_secs: u64,
}

/// A handle to the group-commit task; it ends when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
    counts: Arc<Counts>,
    held: Arc<BatchClock>,
    busy: Arc<BatchClock>,
    /// The task's pool, for its use in `/metrics` (AR-5).
    pool: Pool,
}

/// Batches committed and jobs in them, for `/metrics` (group commit at work).
#[derive(Default)]
struct Counts {
    batches: AtomicU64,
    jobs: AtomicU64,
    /// The same as distributions, and the commits' lengths (AR-5).
    shape: BatchShape,
}

impl Writer {
    /// Starts the task on the current runtime. It ends once every handle is dropped and
    /// what was queued is written: the handle joined at shutdown (D185).
    pub fn start(pool: Pool, retention: Retention) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let held = Arc::new(BatchClock::recording(counts.shape.held.clone()));
        let busy = Arc::new(BatchClock::default());
        let task = tokio::spawn(run(
            pool.clone(),
            rx,
            retention,
            counts.clone(),
            marks::Marks::new(),
            Clocks {
                held: held.clone(),
                busy: busy.clone(),
            },
        ));
        let writer = Writer {
            jobs: tx,
            counts,
            held,
            busy,
            pool,
        };
        (writer, task)
    }

    /// How long the batch in hand has been committing, the question after a lost answer
    /// included, or the prune deleting (D179); `None` otherwise.
    pub fn held_for(&self) -> Option<Duration> {
        self.held.held_for()
    }

    /// How long the batch in hand (or the prune) has been going, whatever it waits for:
    /// a row another session holds too, which [`Writer::held_for`] leaves out (AR-1).
    pub fn busy_for(&self) -> Option<Duration> {
        self.busy.held_for()
    }

    /// Its batch sizes and commit lengths, to register with the server's metrics.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        self.counts.shape.collectors()
    }

    /// The connections the task writes on.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Transactions committed and the jobs in them so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counts.batches.load(Ordering::Relaxed),
            self.counts.jobs.load(Ordering::Relaxed),
        )
    }

    /// Queues `job`; `Closed` if the task has ended.
    pub fn send(&self, job: Job) -> Result<(), StoreError> {
        self.jobs.send(job).map_err(|_| StoreError::Closed)
    }
}

/// The writer's two clocks: `held` from a commit sent to its answer (D179), `busy` over
/// the whole batch (AR-1).
struct Clocks {
    held: Arc<BatchClock>,
    busy: Arc<BatchClock>,
}

async fn run(
    pool: Pool,
    mut rx: mpsc::UnboundedReceiver<Job>,
    retention: Retention,
    counts: Arc<Counts>,
    marks: marks::Marks,
    Clocks { held, busy }: Clocks,
) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A claim on a code whose check is no longer waiting (dropped at its deadline or by
        // its client) is not made: nobody would be told of it, and its code stays free
        // (fourteenth review, U-F1; D183).
        batch.retain(|job| !job.abandoned());
        if batch.is_empty() {
            continue;
        }
        let span = tracing::debug_span!("writer_batch", jobs = batch.len());
        let working = busy.begin();
        let outcome = write_batch(&pool, &batch, &marks, &held)
            .instrument(span)
            .await;
        drop(working);
        // The writes made: not the jobs refused over budget nor the claims left out
        // (sixteenth review, W-F4), nor a claim on a code spent before or a nonce seen
        // before, which write nothing (seventeenth, X-F3); and no batch for a transaction
        // that made none. Every write answers `Fresh`.
        let made = outcome.as_ref().map_or(0, |answers| {
            answers
                .iter()
                .filter(|a| matches!(a, Ok(Claim::Fresh)))
                .count()
        });
        if made > 0 {
            counts.batches.fetch_add(1, Ordering::Relaxed);
            counts.jobs.fetch_add(made as u64, Ordering::Relaxed);
            counts.shape.sizes.observe(made as f64);
        }
        answer(batch, outcome);
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            // Its deletes commit too, and the writer waits for them: a standby away holds
            // them as it would a batch (twelfth review, S-F4).
            let _held = held.begin();
            let _busy = busy.begin();
            prune(&pool, retention.clock.now(), retention.nonce_secs, &marks).await;
        }
    }
}

/// What a committed batch answers, in job order: per nonce job `Fresh` if it was new
/// (`Spent` if used before), per log job its claim (`Fresh`: written), and an error for a
/// log entry of an unknown driver.
type Outcome = Result<Vec<Result<Claim, StoreError>>, StoreError>;

/// A code being spent: the code, by which verifier, at what time.
type Spend = (CodeKey, u64, u64);

/// The columns of a batch, as arrays for `unnest`.
#[derive(Default, Clone)]
struct Columns {
    accounts: Vec<i64>,
    nonces: Vec<Vec<u8>>,
    ts: Vec<i64>,
    /// The codes the log jobs spend: e-licence, window start, audience, form.
    spent_elicence: Vec<i64>,
    spent_window: Vec<i64>,
    spent_audience: Vec<i16>,
    spent_form: Vec<i16>,
    spent_at: Vec<i64>,
    spent_verifier: Vec<i64>,
    /// The failed checks: `at`, `verifier_id`, `target`.
    failure_at: Vec<i64>,
    failure_verifier: Vec<i64>,
    failure_target: Vec<String>,
    /// The job each spent code and each failure comes from.
    spent_job: Vec<usize>,
    failure_job: Vec<usize>,
}

impl Columns {
    /// The columns without the jobs left out (refused, D163; their caller gone, D183).
    fn without(&self, left_out: &[bool]) -> Columns {
        let keep = |job: &usize| !left_out[*job];
        fn pick<T: Clone>(v: &[T], jobs: &[usize], keep: impl Fn(&usize) -> bool) -> Vec<T> {
            v.iter()
                .zip(jobs)
                .filter(|(_, j)| keep(j))
                .map(|(x, _)| x.clone())
                .collect()
        }
        let (s, f) = (&self.spent_job, &self.failure_job);
        Columns {
            accounts: self.accounts.clone(),
            nonces: self.nonces.clone(),
            ts: self.ts.clone(),
            spent_elicence: pick(&self.spent_elicence, s, keep),
            spent_window: pick(&self.spent_window, s, keep),
            spent_audience: pick(&self.spent_audience, s, keep),
            spent_form: pick(&self.spent_form, s, keep),
            spent_at: pick(&self.spent_at, s, keep),
            spent_verifier: pick(&self.spent_verifier, s, keep),
            failure_at: pick(&self.failure_at, f, keep),
            failure_verifier: pick(&self.failure_verifier, f, keep),
            failure_target: pick(&self.failure_target, f, keep),
            spent_job: pick(s, s, keep),
            failure_job: pick(f, f, keep),
        }
    }
}

/// Writes `batch` in one transaction. `held` times its commit, from the `COMMIT` sent to
/// its answer, the question after a lost answer included (D179): what a database that
/// holds commits (a synchronous standby away) holds, and nothing else; a batch waiting for
/// a row another session holds is not a held commit (twelfth review, S-F3).
async fn write_batch(
    pool: &Pool,
    batch: &[Job],
    marks: &marks::Marks,
    held: &Arc<BatchClock>,
) -> Outcome {
    let mut cols = Columns::default();
    for (n, job) in batch.iter().enumerate() {
        match job {
            Job::Nonce {
                account, nonce, ts, ..
            } => {
                cols.accounts.push(i(*account));
                cols.nonces.push(nonce.to_vec());
                cols.ts.push(i(*ts));
            }
            Job::Failure { failure, .. } => {
                cols.failure_job.push(n);
                cols.failure_at.push(i(failure.at));
                cols.failure_verifier.push(i(failure.verifier_id));
                cols.failure_target.push(failure.target.clone());
            }
            Job::Log {
                spends: Some((elicence, window, audience, form)),
                entry,
                verifier_id,
                ..
            } => {
                cols.spent_job.push(n);
                cols.spent_elicence.push(i(*elicence));
                cols.spent_window.push(i(*window));
                cols.spent_audience.push(i16::from(*audience));
                cols.spent_form.push(i16::from(*form));
                cols.spent_at.push(i(entry.at));
                cols.spent_verifier.push(i(*verifier_id));
            }
            Job::Log { .. } => {}
        }
    }
    // Per job: its log entry's columns and the code it spends, if any.
    let feed = batch
        .iter()
        .map(|job| {
            job.log()
                .map(|(driver, verifier_id, entry)| {
                    let event = FeedEvent::Verification {
                        verifier_id,
                        entry: entry.clone(),
                    };
                    feed_columns(&event).map(|c| (i(driver), c, job.spends()))
                })
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The nonces in key order, so two batches inserting the same ones wait for each other
    // in one order, not in opposite orders (fourth review, K-F3: a driver's own requests
    // replayed to two processes deadlocked their writers).
    let mut order: Vec<usize> = (0..cols.accounts.len()).collect();
    order.sort_by(|&a, &b| {
        (cols.accounts[a], &cols.nonces[a]).cmp(&(cols.accounts[b], &cols.nonces[b]))
    });
    cols.accounts = order.iter().map(|&n| cols.accounts[n]).collect();
    cols.nonces = order.iter().map(|&n| cols.nonces[n].clone()).collect();
    cols.ts = order.iter().map(|&n| cols.ts[n]).collect();
    let checks: Vec<Option<BudgetCheck>> = batch.iter().map(Job::budget).collect();
    let watches: Arc<Vec<Option<Watch>>> =
        Arc::new(batch.iter().map(|job| job.claim_watch().cloned()).collect());
    let budgeted = checks.iter().any(Option::is_some);
    let cols = Arc::new(cols);
    let feed = Arc::new(feed);
    let checks = Arc::new(checks);
    let settle_by = Instant::now() + marks::SETTLE_WITHIN;
    let (inserted, seqs, claims, refusals, left_out) = with_retry(pool, move |conn| {
        let cols = cols.clone();
        let feed = feed.clone();
        let checks = checks.clone();
        let watches = watches.clone();
        let pool = pool.clone();
        let held = held.clone();
        // A new mark each attempt: an attempt found not kept is over for good.
        let mark = marks.next();
        Box::pin(async move {
            if budgeted {
                wait_for_failures_in_flight(conn, &checks).await?;
            }
            let tx = conn.transaction().await?;
            // The mark is sent with the batch's first statement rather than alone: a round
            // trip of its own measurably slowed the writer on a busy machine (D169).
            let rows = async {
                let inserted = if cols.accounts.is_empty() {
                    Vec::new()
                } else {
                    let st = tx.prepare_cached(INSERT_NONCES).await?;
                    tx.query(&st, &[&cols.accounts, &cols.nonces, &cols.ts])
                        .await?
                        .iter()
                        .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1)))
                        .collect()
                };
                // The limits first (D163): a refused job writes nothing, so it leaves the
                // batch's columns and its feed entry. Rows are locked in one order in every
                // batch: the failures' `guess_locks` rows, then the drivers' rows (`limits.rs`).
                if budgeted {
                    lock_failure_rows(&tx, &checks).await?;
                }
                // Every driver the batch logs for, before the limits are read: a wrong code's
                // batch and a right code's batch on one licence take turns on its row, so the
                // later sees the earlier's failures.
                let mut ids: Vec<i64> = feed.iter().flatten().map(|(driver, ..)| *driver).collect();
                ids.sort_unstable();
                ids.dedup();
                let seqs = if ids.is_empty() {
                    HashMap::new()
                } else {
                    last_seqs(&tx, &ids).await?
                };
                let refusals = if budgeted {
                    decide_budgets(&tx, &checks).await?
                } else {
                    vec![None; checks.len()]
                };
                // A claim whose check stopped waiting meanwhile (the waits above: a row
                // another session holds, the pool, a redo) is left out too, as late as it can
                // be: once written, nobody could be told of it (fifteenth review, V-F1; D183).
                let left_out: Vec<bool> = refusals
                    .iter()
                    .zip(watches.iter())
                    .map(|(r, w)| r.is_some() || w.as_ref().is_some_and(Watch::gone))
                    .collect();
                let (kept_cols, kept_feed);
                let (cols, feed) = if left_out.contains(&true) {
                    kept_cols = cols.without(&left_out);
                    kept_feed = feed
                        .iter()
                        .zip(&left_out)
                        .map(|(f, out)| if *out { None } else { f.clone() })
                        .collect::<Vec<_>>();
                    (&kept_cols, &kept_feed[..])
                } else {
                    (&*cols, &feed[..])
                };
                if !cols.failure_at.is_empty() {
                    let st = tx.prepare_cached(INSERT_FAILURES).await?;
                    tx.execute(
                        &st,
                        &[
                            &cols.failure_at,
                            &cols.failure_verifier,
                            &cols.failure_target,
                        ],
                    )
                    .await?;
                }
                // The codes first (D106): an entry whose code was spent before (by another
                // process, or before a restart) is left out of the batch, seq and all; the
                // holders of those codes are read only when there are any (D108).
                let (fresh, held) = if cols.spent_elicence.is_empty() {
                    (Vec::new(), Vec::new())
                } else {
                    claim_codes(&tx, cols).await?
                };
                let claims = settle(feed, fresh, held);
                let refused: Vec<bool> = claims
                    .iter()
                    .map(|c| c.is_some_and(|c| c != Claim::Fresh))
                    .collect();
                let kept: Vec<(i64, &super::rows::FeedColumns)> = feed
                    .iter()
                    .zip(&refused)
                    .filter_map(|(f, refused)| match f {
                        Some((driver, c, _)) if !refused => Some((*driver, c)),
                        _ => None,
                    })
                    .collect();
                if !kept.is_empty() {
                    insert_feed(&tx, &seqs, &kept).await?;
                }
                Ok::<_, Fault>((inserted, seqs, claims, refusals, left_out))
            };
            let insert = marks::prepare(&tx).await?;
            // Biased: the mark is polled, so sent, first.
            let ((), done) = tokio::try_join!(biased; marks::put(&tx, &insert, &mark), rows)?;
            let _committing = held.begin();
            match commit(tx).await {
                // The answer was lost: the mark tells whether the batch was kept (D169),
                // asked on a connection opened after the loss (D171).
                Err(Fault::Ambiguous) => {
                    drop_idle_if_lost(&pool, conn);
                    marks::settle(&pool, &mark, settle_by).await?
                }
                sent => sent?,
            }
            Ok(done)
        })
    })
    .await?;
    tracing::trace!("writer batch committed");
    // A nonce twice in one batch: the first job holding it gets `true`.
    let mut fresh: Vec<(i64, Vec<u8>)> = inserted;
    Ok(batch
        .iter()
        .zip(claims)
        .zip(refusals)
        .zip(left_out)
        .map(|(((job, claim), refused), left_out)| match (job, refused) {
            (_, Some(refused)) => Err(StoreError::OverBudget(refused)),
            // A claim left out: nothing written, and nobody waits for this answer.
            _ if left_out => Err(StoreError::Aborted),
            (Job::Nonce { account, nonce, .. }, None) => {
                let key = (i(*account), nonce.to_vec());
                Ok(match fresh.iter().position(|k| *k == key) {
                    Some(at) => {
                        fresh.swap_remove(at);
                        Claim::Fresh
                    }
                    None => Claim::SPENT_UNKNOWN,
                })
            }
            _ => match claim {
                Some(c @ (Claim::Repeat { .. } | Claim::Spent { .. })) => Ok(c),
                _ if job
                    .log()
                    .is_none_or(|(driver, ..)| seqs.contains_key(&i(driver))) =>
                {
                    Ok(Claim::Fresh)
                }
                _ => Err(StoreError::Corrupt("verification log of an unknown driver")),
            },
        })
        .collect())
}

/// A code's holder: who spent it (`None`: a row older than D108) and when.
type Holder = (CodeKey, Option<u64>, u64);

/// Inserts the batch's codes into `spent_codes`: the rows written (code, spender, time),
/// and for the codes already there, the rows that hold them.
async fn claim_codes(
    tx: &deadpool_postgres::Transaction<'_>,
    cols: &Columns,
) -> Result<(Vec<Holder>, Vec<Holder>), Fault> {
    let holder = |r: &tokio_postgres::Row| -> Holder {
        (
            (
                r.get::<_, i64>(0) as u64,
                r.get::<_, i64>(1) as u64,
                r.get::<_, i16>(2) as u8,
                r.get::<_, i16>(3) as u8,
            ),
            r.get::<_, Option<i64>>(4).map(|v| v as u64),
            r.get::<_, i64>(5) as u64,
        )
    };
    let st = tx.prepare_cached(INSERT_SPENT_CODES).await?;
    let fresh: Vec<Holder> = tx
        .query(
            &st,
            &[
                &cols.spent_elicence,
                &cols.spent_window,
                &cols.spent_audience,
                &cols.spent_form,
                &cols.spent_at,
                &cols.spent_verifier,
            ],
        )
        .await?
        .iter()
        .map(holder)
        .collect();
    if fresh.len() == cols.spent_elicence.len() {
        return Ok((fresh, Vec::new()));
    }
    // Some were spent before: who holds them. A plain join on `unnest` (D87); READ
    // COMMITTED, so this sees the rows the insert above waited for.
    let st = tx.prepare_cached(CODE_HOLDERS).await?;
    let held = tx
        .query(
            &st,
            &[
                &cols.spent_elicence,
                &cols.spent_window,
                &cols.spent_audience,
                &cols.spent_form,
            ],
        )
        .await?
        .iter()
        .map(holder)
        .collect();
    Ok((fresh, held))
}

/// Each job's claim, in job order (`None` for a job that spends no code): `Fresh` for
/// the job whose row was written (a code twice in one batch goes to its first job by
/// that verifier), otherwise what the holder makes of it ([`Claim::on_spent`]).
fn settle<T>(
    feed: &[Option<(i64, T, Option<Spend>)>],
    fresh: Vec<Holder>,
    held: Vec<Holder>,
) -> Vec<Option<Claim>> {
    let mut unclaimed: HashMap<CodeKey, u64> = HashMap::new();
    let mut holders: HashMap<CodeKey, (Option<u64>, u64)> = HashMap::new();
    for (code, spender, at) in held {
        holders.insert(code, (spender, at));
    }
    for (code, spender, at) in fresh {
        holders.insert(code, (spender, at));
        if let Some(v) = spender {
            unclaimed.insert(code, v);
        }
    }
    feed.iter()
        .map(|f| {
            let (code, verifier, at) = f.as_ref()?.2?;
            if unclaimed.get(&code) == Some(&verifier) {
                unclaimed.remove(&code);
                return Some(Claim::Fresh);
            }
            Some(match holders.get(&code) {
                Some((spender, spent_at)) => Claim::on_spent(*spender, *spent_at, verifier, at),
                // Pruned in between: long spent.
                None => Claim::SPENT_UNKNOWN,
            })
        })
        .collect()
}

/// Locks the rows of the drivers `ids` (sorted, so two batches lock in the same order)
/// and reads each one's sequence: its row's `seq` or its feed's last entry, whichever is
/// later (D116). A verification appends to the feed and leaves the driver's row alone;
/// the lock (the one an `UPDATE` of the row would take, without writing a new version of
/// it) orders the batch with the driver's changes and with other processes' batches.
async fn last_seqs(
    tx: &deadpool_postgres::Transaction<'_>,
    ids: &[i64],
) -> Result<HashMap<i64, i64>, Fault> {
    let mut seqs: HashMap<i64, i64> = HashMap::new();
    let st = tx.prepare_cached(LOCK_DRIVERS).await?;
    for row in tx.query(&st, &[&ids]).await? {
        seqs.insert(row.get::<_, i64>(0), row.get::<_, i64>(1));
    }
    // A statement of its own, so a snapshot taken once the locks are held (READ
    // COMMITTED): it sees every entry appended by whoever held them before.
    let st = tx.prepare_cached(LAST_FEED_SEQS).await?;
    for row in tx.query(&st, &[&ids]).await? {
        if let Some(seq) = seqs.get_mut(&row.get::<_, i64>(0)) {
            *seq = (*seq).max(row.get::<_, i64>(1));
        }
    }
    Ok(seqs)
}

/// Appends the batch's log entries after each driver's last seq, in job order.
async fn insert_feed(
    tx: &deadpool_postgres::Transaction<'_>,
    last: &HashMap<i64, i64>,
    feed: &[(i64, &super::rows::FeedColumns)],
) -> Result<(), Fault> {
    let mut next = last.clone();
    let mut drivers = Vec::new();
    let mut seq = Vec::new();
    let mut at = Vec::new();
    let mut verifiers = Vec::new();
    let mut outcomes = Vec::new();
    let mut bodies = Vec::new();
    for (driver, (_, t, verifier, outcome, body)) in feed {
        // An unknown driver has no row to lock: its job is refused below.
        let Some(n) = next.get_mut(driver) else {
            continue;
        };
        *n += 1;
        drivers.push(*driver);
        seq.push(*n);
        at.push(*t);
        verifiers.push(*verifier);
        outcomes.push(outcome.clone());
        bodies.push(body.clone());
    }
    let st = tx.prepare_cached(INSERT_FEED).await?;
    tx.execute(&st, &[&drivers, &seq, &at, &verifiers, &outcomes, &bodies])
        .await?;
    Ok(())
}

fn answer(batch: Vec<Job>, outcome: Outcome) {
    let results: Vec<Result<Claim, StoreError>> = match outcome {
        Ok(results) => results,
        Err(e) => batch.iter().map(|_| Err(same(&e))).collect(),
    };
    for (job, result) in batch.into_iter().zip(results) {
        match job {
            Job::Nonce { reply, .. } => {
                let _ = reply.send(result.map(|c| c == Claim::Fresh));
            }
            Job::Log { reply, .. } => {
                let _ = reply.send(result);
            }
            Job::Failure { reply, .. } => {
                let _ = reply.send(result.map(|_| ()));
            }
        }
    }
}

/// The batch's error again, for each of its callers (`StoreError` is not `Clone`: it
/// may hold a SQLite error).
fn same(e: &StoreError) -> StoreError {
    match e {
        StoreError::Corrupt(w) => StoreError::Corrupt(w),
        StoreError::Conflict(w) => StoreError::Conflict(w),
        StoreError::Closed => StoreError::Closed,
        StoreError::Postgres(code) => StoreError::Postgres(code.clone()),
        StoreError::Unavailable => StoreError::Unavailable,
        _ => StoreError::Aborted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::REPEAT_SECS;

    const CODE: CodeKey = (7, 1_000, 0, 0);

    fn job(verifier: u64, at: u64) -> Option<(i64, (), Option<Spend>)> {
        Some((1, (), Some((CODE, verifier, at))))
    }

    /// A log job with its answer's receiver, spending [`CODE`] or nothing.
    fn log_job(spends: bool) -> (Job, (oneshot::Receiver<Result<Claim, StoreError>>, Waiter)) {
        use edl_core::credential::Audience;
        use edl_core::wire::{CheckMethod, CheckOutcome, VerifierClass};
        let (reply, answer) = oneshot::channel();
        let (waiter, waiting) = Waiter::watched();
        let entry = VerificationLogEntry {
            at: 1_000,
            verifier: "交警".into(),
            verifier_class: VerifierClass::Enforcement,
            audience: Audience::Enforcement,
            method: CheckMethod::Qr,
            outcome: CheckOutcome::Verified,
        };
        let job = Job::Log {
            driver: 1,
            verifier_id: 1,
            entry,
            spends: spends.then_some(CODE),
            budget: None,
            reply,
            waiting,
        };
        (job, (answer, waiter))
    }

    #[test]
    fn only_a_claim_whose_check_stopped_waiting_is_abandoned() {
        let (waited, _answer) = log_job(true);
        assert!(!waited.abandoned());
        let (claim, answer) = log_job(true);
        drop(answer);
        assert!(claim.abandoned(), "a check dropped at its deadline");
        // Other writes are made whatever became of their request (D183).
        let (entry, answer) = log_job(false);
        drop(answer);
        assert!(!entry.abandoned(), "a log entry that spends no code");
        let (reply, answer) = oneshot::channel();
        drop(answer);
        let nonce = Job::Nonce {
            account: 1,
            nonce: [0; 16],
            ts: 1_000,
            reply,
        };
        assert!(!nonce.abandoned(), "a nonce");
    }

    #[test]
    fn a_code_twice_in_one_batch_goes_to_the_job_whose_row_was_written() {
        // The same verifier twice: the first writes, the second is its repeat.
        let feed = [job(1, 1_000), None, job(1, 1_001)];
        let claims = settle(&feed, vec![(CODE, Some(1), 1_000)], vec![]);
        assert_eq!(
            claims,
            [
                Some(Claim::Fresh),
                None,
                Some(Claim::Repeat { spent_at: 1_000 })
            ]
        );
        // Two verifiers, the row written is the second's: the first is refused.
        let feed = [job(1, 1_000), job(2, 1_000)];
        let claims = settle(&feed, vec![(CODE, Some(2), 1_000)], vec![]);
        assert_eq!(
            claims,
            [
                Some(Claim::Spent {
                    by: Some(2),
                    at: 1_000
                }),
                Some(Claim::Fresh)
            ]
        );
    }

    #[test]
    fn a_code_held_before_the_batch_is_a_repeat_only_for_its_recent_spender() {
        let feed = [job(1, 1_005), job(2, 1_005), job(1, 1_001 + REPEAT_SECS)];
        let held = vec![(CODE, Some(1), 1_000)];
        assert_eq!(
            settle(&feed, vec![], held),
            [
                Some(Claim::Repeat { spent_at: 1_000 }),
                Some(Claim::Spent {
                    by: Some(1),
                    at: 1_000
                }),
                Some(Claim::Spent {
                    by: Some(1),
                    at: 1_000
                })
            ]
        );
        // A row from before D108 names nobody.
        let held = vec![(CODE, None, 1_000)];
        assert_eq!(
            settle(&feed[..1], vec![], held),
            [Some(Claim::Spent {
                by: None,
                at: 1_000
            })]
        );
    }
}
