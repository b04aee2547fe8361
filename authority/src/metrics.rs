//! What an operator watches (D90): request rate and latency per route and status, the
//! store's writes (latency from call to durable answer, writes waiting, group-commit
//! batches), lock-outs and requests shed, in the Prometheus text format at `/metrics`.
//!
//! Each server has its own registry (not a process-wide one), so two servers in one
//! process (the tests) never mix their figures. Labels are bounded: the route is the
//! router's path template (`/admin/drivers/{id}`, never the id), unmatched paths are one
//! label, and nothing from a request body or header reaches a label.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::http::extract::AppState;

/// Latency buckets in seconds: sub-millisecond answers up to the 30 s request deadline.
pub(crate) const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    writes: HistogramVec,
    writes_waiting: IntGauge,
    batch_held: prometheus::Gauge,
    batches: IntCounter,
    batch_jobs: IntCounter,
    lockouts: IntCounter,
    locked_out_refusals: IntCounter,
    shed: IntCounterVec,
    claims_given_up: IntCounter,
    pools: IntGaugeVec,
    pools_max: IntGaugeVec,
    pools_waiting: IntGaugeVec,
    /// Writes in flight and when one last finished: "is the writer keeping up" (`/readyz`).
    progress: Mutex<Progress>,
}

#[derive(Debug)]
struct Progress {
    in_flight: u64,
    last_done: Instant,
    /// When the writes in flight began to be waited for (none in flight before).
    waiting_since: Instant,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
        labels,
    )
    .expect("a valid histogram definition")
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).expect("a valid counter definition")
}

impl Metrics {
    /// A fresh registry with every metric registered (at zero).
    pub fn new() -> Self {
        let requests = histogram(
            "edl_http_request_duration_seconds",
            "Time from request to answer, by route template, method and status; its _count is the request rate.",
            &["route", "method", "status"],
        );
        let writes = histogram(
            "edl_store_write_duration_seconds",
            "Time from a store write's call to its durable answer (queue, batch and commit), by operation.",
            &["op"],
        );
        let writes_waiting = IntGauge::new(
            "edl_store_writes_in_flight",
            "Store writes called and not yet answered.",
        )
        .expect("a valid gauge");
        let batch_held = prometheus::Gauge::new(
            "edl_writer_batch_held_seconds",
            "How long the writer has been on the batch in hand (0 between batches); past \
             the stall bound, writes are refused (D179).",
        )
        .expect("a valid gauge");
        let batches = counter(
            "edl_writer_batches_total",
            "Transactions committed by the group-committing writer that made a write.",
        );
        let batch_jobs = counter(
            "edl_writer_jobs_total",
            "Writes committed in those transactions (jobs/batches is the mean batch size); \
             a write refused, left out or finding nothing to write (a code spent before) is none.",
        );
        let lockouts = counter(
            "edl_lockouts_total",
            "Lock-outs begun: a verifier refused a licence (or everything) after failed checks.",
        );
        let locked_out_refusals = counter(
            "edl_locked_out_refusals_total",
            "Online checks refused because the verifier was locked out.",
        );
        let shed = IntCounterVec::new(
            Opts::new(
                "edl_shed_total",
                "Requests answered 503, by reason: unavailable (the database away, read-only \
                 or holding its commit, a write not answered by the deadline) or connections \
                 (over the cap, answered before reading). /readyz's own answers are not \
                 counted.",
            ),
            &["reason"],
        )
        .expect("a valid counter");
        let claims_given_up = counter(
            "edl_claims_given_up_total",
            "Online checks whose claim on their code was given up because the database held \
             its commit past the stall bound (D193), answered 503; one already in the held \
             batch may still have committed.",
        );
        let pool_gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid gauge")
        };
        let pools = pool_gauge(
            "edl_store_pool_connections",
            "The database connections of each pool (read: the checks' reads and a driver's \
             changes; writer: the group-committing writer's), in use or idle, read at each \
             scrape. PostgreSQL only.",
            &["pool", "state"],
        );
        let pools_max = pool_gauge(
            "edl_store_pool_max_connections",
            "The most connections each pool opens. PostgreSQL only.",
            &["pool"],
        );
        let pools_waiting = pool_gauge(
            "edl_store_pool_waiting",
            "Calls waiting for a connection of each pool, read at each scrape: above 0 for \
             long, the pool is what limits. PostgreSQL only.",
            &["pool"],
        );
        let registry = Registry::new();
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(writes.clone()),
            Box::new(writes_waiting.clone()),
            Box::new(batch_held.clone()),
            Box::new(batches.clone()),
            Box::new(batch_jobs.clone()),
            Box::new(lockouts.clone()),
            Box::new(locked_out_refusals.clone()),
            Box::new(shed.clone()),
            Box::new(claims_given_up.clone()),
            Box::new(pools.clone()),
            Box::new(pools_max.clone()),
            Box::new(pools_waiting.clone()),
        ] {
            registry.register(c).expect("distinct metric names");
        }
        Metrics {
            registry,
            requests,
            writes,
            writes_waiting,
            batch_held,
            batches,
            batch_jobs,
            lockouts,
            locked_out_refusals,
            shed,
            claims_given_up,
            pools,
            pools_max,
            pools_waiting,
            progress: Mutex::new(Progress {
                in_flight: 0,
                last_done: Instant::now(),
                waiting_since: Instant::now(),
            }),
        }
    }

    /// One answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .with_label_values(&[route, method, status_label(status)])
            .observe(took.as_secs_f64());
    }

    /// A store write begins; the guard records its latency when its answer comes
    /// ([`WriteTimer::answered`]).
    pub fn write(&self, op: &'static str) -> WriteTimer<'_> {
        self.writes_waiting.inc();
        let mut p = self.lock();
        if p.in_flight == 0 {
            p.waiting_since = Instant::now();
        }
        p.in_flight += 1;
        drop(p);
        WriteTimer {
            metrics: self,
            op,
            started: Instant::now(),
            answered: false,
        }
    }

    /// A verifier was locked out (`first`: the refusal that begins a lock-out).
    pub fn locked_out(&self, first: bool) {
        self.locked_out_refusals.inc();
        if first {
            self.lockouts.inc();
        }
    }

    /// A request answered 503 (`connections`: over the cap; `unavailable`: any other but
    /// `/readyz`'s).
    pub fn shed(&self, reason: &'static str) {
        self.shed.with_label_values(&[reason]).inc();
    }

    /// A check's claim on its code given up while the database held its commit (D193).
    pub fn claim_given_up(&self) {
        self.claims_given_up.inc();
    }

    /// The writer's totals so far (batches committed, jobs in them), read from the store
    /// at each scrape.
    pub fn set_writer_totals(&self, batches: u64, jobs: u64) {
        // Counters only go up; the store's own counters do too, so the difference is ≥ 0.
        self.batches
            .inc_by(batches.saturating_sub(self.batches.get()));
        self.batch_jobs
            .inc_by(jobs.saturating_sub(self.batch_jobs.get()));
    }

    /// How long the store's writer has been on the batch in hand, read at each scrape.
    pub fn set_writer_held(&self, held: Option<Duration>) {
        self.batch_held
            .set(held.map_or(0.0, |held| held.as_secs_f64()));
    }

    /// Registers metrics the store keeps itself (its writer's batch shape, AR-5).
    pub fn register(&self, collectors: Vec<Box<dyn prometheus::core::Collector>>) {
        for c in collectors {
            self.registry.register(c).expect("distinct metric names");
        }
    }

    /// The store's connection pools as they are now, read at each scrape (AR-5).
    pub fn set_pools(&self, pools: &[crate::store::PoolUse]) {
        for p in pools {
            let in_use = p.size.saturating_sub(p.idle);
            for (state, n) in [("in_use", in_use), ("idle", p.idle)] {
                self.pools
                    .with_label_values(&[p.name, state])
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            self.pools_max
                .with_label_values(&[p.name])
                .set(i64::try_from(p.max).unwrap_or(i64::MAX));
            self.pools_waiting
                .with_label_values(&[p.name])
                .set(i64::try_from(p.waiting).unwrap_or(i64::MAX));
        }
    }

    /// Whether store writes are being answered: `Err(seconds)` when writes have been
    /// waiting, and none has been answered, for longer than `stall`. Counted from the later
    /// of the last answer and the start of the wait: a write that begins after a quiet
    /// spell has waited for nothing yet (twenty-fifth review, AF-F1).
    pub fn writer_progress(&self, stall: Duration) -> Result<(), u64> {
        let p = self.lock();
        let quiet = p.last_done.max(p.waiting_since).elapsed();
        if p.in_flight > 0 && quiet > stall {
            return Err(quiet.as_secs());
        }
        Ok(())
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec fails only on a malformed family, which `new` cannot make.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Times one store write (see [`Metrics::write`]).
pub struct WriteTimer<'a> {
    metrics: &'a Metrics,
    op: &'static str,
    started: Instant,
    /// Whether the write's answer came ([`WriteTimer::answered`]).
    answered: bool,
}

impl WriteTimer<'_> {
    /// The write's answer came: it is timed, and taken for a sign that writes are being
    /// answered. A timer dropped without it (a claim given up, D193; a request dropped at
    /// its deadline or by its client; a panic) only leaves the writes in flight
    /// (twenty-second review, AC-F9; twenty-fourth, AE-F1).
    pub fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for WriteTimer<'_> {
    fn drop(&mut self) {
        let m = self.metrics;
        if self.answered {
            m.writes
                .with_label_values(&[self.op])
                .observe(self.started.elapsed().as_secs_f64());
        }
        m.writes_waiting.dec();
        let mut p = m.lock();
        p.in_flight = p.in_flight.saturating_sub(1);
        if self.answered {
            p.last_done = Instant::now();
        }
    }
}

fn status_label(status: u16) -> &'static str {
    // A fixed set of label values: an unexpected status cannot grow the series.
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        410 => "410",
        413 => "413",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

/// Middleware: times every request and counts it by route template, method and status.
pub(crate) async fn track(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    // A not-ready answer is the probe's reading, not a request turned away: counted,
    // every balancer's probe would grow the figure with the outage (AR-4).
    if status == 503 && route.as_deref() != Some(crate::http::ops::READYZ) {
        app.metrics.shed("unavailable");
    }
    app.metrics.request(
        route.as_deref().unwrap_or("unmatched"),
        method,
        status,
        started.elapsed(),
    );
    response
}

fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_waiting_past_the_bound_is_a_stalled_writer() {
        let m = Metrics::new();
        assert!(m.writer_progress(Duration::ZERO).is_ok(), "nothing waits");
        let timer = m.write("log_verification");
        std::thread::sleep(Duration::from_millis(5));
        assert!(m.writer_progress(Duration::from_millis(1)).is_err());
        assert!(m.writer_progress(Duration::from_secs(60)).is_ok());
        timer.answered();
        assert!(m.writer_progress(Duration::ZERO).is_ok());
        let text = m.render();
        assert!(text.contains("edl_store_write_duration_seconds_count{op=\"log_verification\"} 1"));
        assert!(text.contains("edl_store_writes_in_flight 0"));
    }

    #[test]
    fn a_write_dropped_unanswered_is_neither_timed_nor_progress() {
        let m = Metrics::new();
        let answered = m.write("append_audit");
        let dropped = m.write("log_verification");
        answered.answered();
        std::thread::sleep(Duration::from_millis(5));
        let other = m.write("append_audit");
        drop(dropped);
        // Only `other` waits, and no write was answered since `answered` was.
        assert!(m.writer_progress(Duration::from_millis(1)).is_err());
        other.answered();
        let text = m.render();
        assert!(text.contains("edl_store_writes_in_flight 0"));
        assert!(text.contains("edl_store_write_duration_seconds_count{op=\"append_audit\"} 2"));
        assert!(!text.contains("op=\"log_verification\""), "{text}");
    }

    #[test]
    fn a_write_after_a_quiet_spell_is_not_a_stalled_writer() {
        let m = Metrics::new();
        m.write("append_audit").answered();
        // Idle past the bound, then a write begins: it has waited for nothing yet
        // (twenty-fifth review, AF-F1: 503 a millisecond after it began).
        std::thread::sleep(Duration::from_millis(20));
        let timer = m.write("append_audit");
        assert!(m.writer_progress(Duration::from_millis(10)).is_ok());
        std::thread::sleep(Duration::from_millis(20));
        assert!(m.writer_progress(Duration::from_millis(10)).is_err());
        timer.answered();
    }

    #[test]
    fn writer_totals_are_counters_that_follow_the_store() {
        let m = Metrics::new();
        m.set_writer_totals(3, 10);
        m.set_writer_totals(5, 40);
        let text = m.render();
        assert!(text.contains("edl_writer_batches_total 5"), "{text}");
        assert!(text.contains("edl_writer_jobs_total 40"));
    }
}
