//! The load generator: a fixed number of keep-alive HTTP/1.1 connections on loopback, each
//! sending its next request as soon as the last is answered (closed loop, as wrk does), or,
//! given an offered rate, at fixed times whatever the answers do (open loop, as wrk2 does),
//! until a time bound or a request count is reached. Every online check carries a code
//! nobody has used (`codes.rs`); every sync is signed by the driver's device key with a
//! fresh nonce.
//!
//! Why both: a closed loop finds the most a server answers, and its latency there is set by
//! it (each connection waits for its own answer, so the mean wait is connections ÷ rate,
//! Little's law). Verifiers in the street do not wait for one another: the latency an
//! operator plans with is the one at a rate the traffic offers, below the most. An open
//! loop measures that: a request held behind a slow answer on its connection counts from
//! when it was due, its wait included (no coordinated omission); one whose connection was
//! free counts from its send.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use edl_core::wire::{self, Base64, paths, sign_request};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::codes::{Codes, Fresh, Ledger, Method, device_key};
use crate::populate::API_KEY;

/// What each request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// `GET` of a constant answer (a floor).
    Get(String),
    /// Online verification of a QR by the enforcement verifier.
    Qr,
    /// Online verification of a manual code.
    Manual,
    /// A device-signed wallet sync.
    Sync,
    /// Nine QR verifications to one sync.
    Mix,
}

/// One run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The server.
    pub addr: SocketAddr,
    /// What to send.
    pub workload: Workload,
    /// Connections (simulated clients).
    pub connections: usize,
    /// Time bound.
    pub duration: Duration,
    /// Request bound.
    pub max_requests: u64,
    /// The drivers this run uses (ids `first..=last`).
    pub first: u64,
    /// The last driver this run uses.
    pub last: u64,
    /// The codes sent so far, shared by all runs.
    pub ledger: Arc<Ledger>,
    /// The sync cursor a wallet sends (its last sync: the populated feed).
    pub cursor: u64,
    /// Requests a second offered over all connections (open loop); `None`: each connection
    /// sends again once answered (closed loop).
    pub rate: Option<f64>,
}

/// What a run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Latency of answered requests, in microseconds.
    pub latency: Histogram<u64>,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer (connection errors).
    pub failed: u64,
    /// 200 answers to verifications (each must add one log row).
    pub verified: u64,
    /// Body bytes of 200 answers.
    pub ok_bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether some connection ran out of unused codes before the bounds.
    pub exhausted: bool,
    /// Open loop: how late the generator itself began requests its connection was free
    /// for (its timer and its own CPU), in microseconds; a tail here means the rate was
    /// not offered as scheduled, whatever the server did.
    pub late: Histogram<u64>,
    /// Open loop: requests due before the time bound that were never sent, their
    /// connection still waiting for an earlier answer (or the generator behind) when the
    /// time ran out. Their latency is unknown and at least the time they waited.
    pub unsent: u64,
}

impl Outcome {
    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        self.latency.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Answers that are not 200, and requests not answered.
    pub fn errors(&self) -> u64 {
        self.failed
            + self
                .statuses
                .iter()
                .filter(|(s, _)| **s != 200)
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    /// Mean body size of a 200 answer.
    pub fn ok_size(&self) -> u64 {
        let ok = self.statuses.get(&200).copied().unwrap_or(0);
        self.ok_bytes.checked_div(ok).unwrap_or(0)
    }
}

struct Task {
    latency: Histogram<u64>,
    statuses: BTreeMap<u16, u64>,
    failed: u64,
    verified: u64,
    ok_bytes: u64,
    exhausted: bool,
    late: Histogram<u64>,
    unsent: u64,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Runs `spec` to its first bound.
pub async fn run(spec: Spec) -> Outcome {
    let spec = Arc::new(spec);
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + spec.duration;
    let tasks: Vec<_> = (0..spec.connections)
        .map(|k| {
            let (spec, sent) = (spec.clone(), sent.clone());
            let schedule = spec
                .rate
                .map(|rate| Schedule::new(rate, spec.connections, k, started));
            tokio::spawn(async move { task(&spec, k, &sent, schedule, deadline).await })
        })
        .collect();
    let mut out = Outcome {
        latency: histogram(),
        statuses: BTreeMap::new(),
        failed: 0,
        verified: 0,
        ok_bytes: 0,
        elapsed: Duration::ZERO,
        exhausted: false,
        late: histogram(),
        unsent: 0,
    };
    for t in tasks {
        let Ok(t) = t.await else {
            out.failed += 1;
            continue;
        };
        let _ = out.latency.add(&t.latency);
        for (s, n) in t.statuses {
            *out.statuses.entry(s).or_default() += n;
        }
        out.failed += t.failed;
        out.verified += t.verified;
        out.ok_bytes += t.ok_bytes;
        out.exhausted |= t.exhausted;
        let _ = out.late.add(&t.late);
        out.unsent += t.unsent;
    }
    out.elapsed = started.elapsed();
    out
}

/// When one connection's requests are due in an open loop: every `interval`, from a start
/// offset by the connection's place, so that all connections' requests together arrive
/// evenly, `rate` a second.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    next: Instant,
    interval: Duration,
}

impl Schedule {
    /// Connection `k` of `connections`, sharing `rate` requests a second from `started`.
    fn new(rate: f64, connections: usize, k: usize, started: Instant) -> Schedule {
        let interval = Duration::from_secs_f64(connections as f64 / rate.max(f64::MIN_POSITIVE));
        let offset = interval.mul_f64(k as f64 / connections as f64);
        Schedule {
            next: started + offset,
            interval,
        }
    }

    /// The next request's due time; the one after is an interval later, whenever this one
    /// is sent.
    fn due(&mut self) -> Instant {
        let due = self.next;
        self.next += self.interval;
        due
    }

    /// How many requests fall due before `deadline` from the next one on.
    fn due_before(&self, deadline: Instant) -> u64 {
        let Some(left) = deadline.checked_duration_since(self.next) else {
            return 0;
        };
        (left.as_nanos().div_ceil(self.interval.as_nanos().max(1))) as u64
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Option<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The `k`-th connection's loop: its own share of the drivers, so no two connections
/// send the same code.
async fn task(
    spec: &Spec,
    k: usize,
    sent: &AtomicU64,
    mut schedule: Option<Schedule>,
    deadline: Instant,
) -> Task {
    let mut t = Task {
        latency: histogram(),
        statuses: BTreeMap::new(),
        failed: 0,
        verified: 0,
        ok_bytes: 0,
        exhausted: false,
        late: histogram(),
        unsent: 0,
    };
    let share: Vec<u64> = (spec.first..=spec.last)
        .filter(|i| (*i as usize) % spec.connections == k)
        .collect();
    let mut codes = Codes::new(spec.ledger.clone(), share.clone());
    let mut next_sync = 0usize;
    let mut sender: Option<Sender> = None;
    let mut n: u64 = 0;
    // When this connection's last answer arrived (none yet: its first request is not held
    // up by anything).
    let mut free_since: Option<Instant> = None;
    loop {
        // Open loop: wait for the request's due time. If the connection was still waiting
        // for its last answer then, the request counts from when it was due (the server
        // held it up); if not, from when it is sent, so the timer's own lateness (a tick
        // is a millisecond) is not counted as the server's.
        let due = schedule.as_mut().map(Schedule::due);
        if due.is_some_and(|d| d >= deadline) {
            break;
        }
        let held_up = due.is_some_and(|d| free_since.is_some_and(|f| f > d));
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        // An open loop counts from here, before the request is built (a code made, a sync
        // signed) or its connection made, held up or not alike (AL-F7); a held-up request
        // from when it was due.
        let open_begun = due.map(|d| if held_up { d } else { Instant::now() });
        if let (Some(due), Some(begun), false) = (due, open_begun, held_up) {
            let _ = t.late.record(micros(begun.saturating_duration_since(due)));
        }
        if Instant::now() >= deadline {
            // This request and every later one due before the bound go unsent (AL-F7).
            if let Some(s) = &schedule {
                t.unsent += 1 + s.due_before(deadline);
            }
            break;
        }
        if sent.fetch_add(1, Ordering::Relaxed) >= spec.max_requests {
            break;
        }
        n += 1;
        let is_sync = match spec.workload {
            Workload::Sync => true,
            Workload::Mix => n.is_multiple_of(10),
            _ => false,
        };
        let request = if is_sync {
            if share.is_empty() {
                break;
            }
            let driver = share[next_sync % share.len()];
            next_sync += 1;
            sync_request(driver, spec.cursor)
        } else {
            match &spec.workload {
                Workload::Get(path) => get(path),
                Workload::Manual => match codes.fresh(Method::Manual, unix_now()) {
                    Some(code) => verify_request(&code),
                    None => {
                        t.exhausted = true;
                        break;
                    }
                },
                _ => match codes.fresh(Method::Qr, unix_now()) {
                    Some(code) => verify_request(&code),
                    None => {
                        t.exhausted = true;
                        break;
                    }
                },
            }
        };
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            sender = connect(spec.addr).await;
        }
        let Some(s) = sender.as_mut() else {
            t.failed += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // A closed loop counts from the send.
        let begun = open_begun.unwrap_or_else(Instant::now);
        let answer = async {
            s.ready().await.ok()?;
            let resp = s.send_request(request).await.ok()?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.ok()?.to_bytes();
            Some((status, body.len() as u64))
        }
        .await;
        free_since = Some(Instant::now());
        match answer {
            Some((status, len)) => {
                let _ = t.latency.record(micros(begun.elapsed()));
                *t.statuses.entry(status).or_default() += 1;
                if status == 200 {
                    t.ok_bytes += len;
                    if !is_sync && !matches!(spec.workload, Workload::Get(_)) {
                        t.verified += 1;
                    }
                }
            }
            None => {
                t.failed += 1;
                sender = None;
            }
        }
    }
    t
}

/// A span in whole microseconds within the histograms' bounds (1 µs to 60 s).
fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, 60_000_000)
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .body(Full::new(Bytes::new()))
        .expect("a valid request")
}

/// The JSON body of a verification of `code`.
pub fn verify_body(code: &Fresh) -> String {
    match code {
        Fresh::Qr(payload) => {
            serde_json::json!({"method": "qr", "payload": Base64::encode(payload)})
        }
        Fresh::Manual(number, code) => {
            serde_json::json!({"method": "manual", "licence_number": number, "code": code})
        }
    }
    .to_string()
}

fn verify_request(code: &Fresh) -> Request<Full<Bytes>> {
    Request::post(paths::VERIFY)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header(wire::HEADER_API_KEY, API_KEY)
        .body(Full::new(Bytes::from(verify_body(code))))
        .expect("a valid request")
}

fn sync_request(driver: u64, cursor: u64) -> Request<Full<Bytes>> {
    let path = format!("{}?cursor={cursor}", paths::SYNC);
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("OS random generator");
    let auth = sign_request(&device_key(driver), "GET", &path, &[], unix_now(), nonce);
    let mut req = Request::get(path).header("host", "127.0.0.1");
    for (name, value) in auth.headers(driver) {
        req = req.header(name, value);
    }
    req.body(Full::new(Bytes::new())).expect("a valid request")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every due time of every connection within `window` of `started`, sorted.
    fn arrivals(rate: f64, connections: usize, window: Duration) -> Vec<Duration> {
        let started = Instant::now();
        let mut all = Vec::new();
        for k in 0..connections {
            let mut s = Schedule::new(rate, connections, k, started);
            loop {
                let at = s.due() - started;
                if at >= window {
                    break;
                }
                all.push(at);
            }
        }
        all.sort();
        all
    }

    #[test]
    fn an_open_loop_offers_its_rate_over_all_connections() {
        for (rate, connections) in [(1_000.0, 256), (2_500.0, 64), (300.0, 1_000)] {
            let sent = arrivals(rate, connections, Duration::from_secs(4)).len() as f64;
            assert!(
                (sent - 4.0 * rate).abs() <= connections as f64,
                "{sent} requests due in 4 s at {rate}/s over {connections} connections"
            );
        }
    }

    #[test]
    fn an_open_loop_spreads_its_requests_evenly_not_in_bursts() {
        // 256 connections at 1,000/s: one request due every millisecond, never 256 at once.
        let due = arrivals(1_000.0, 256, Duration::from_secs(2));
        let gaps: Vec<Duration> = due.windows(2).map(|w| w[1] - w[0]).collect();
        let (least, most) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
        assert!(
            *least >= Duration::from_micros(990) && *most <= Duration::from_micros(1_010),
            "gaps between due times from {least:?} to {most:?}"
        );
    }

    #[test]
    fn what_is_due_before_the_bound_is_counted_from_the_next_request_on() {
        let started = Instant::now();
        let mut s = Schedule::new(10.0, 1, 0, started);
        let bound = started + Duration::from_secs(1);
        assert_eq!(s.due_before(bound), 10);
        s.due();
        assert_eq!(s.due_before(bound), 9);
        assert_eq!(s.due_before(started), 0);
    }

    /// A server on loopback that answers each request after `delay`.
    async fn slow_server(delay: Duration) -> SocketAddr {
        let app = axum::Router::new().route(
            "/slow",
            axum::routing::get(move || async move {
                tokio::time::sleep(delay).await;
                "ok"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_open_loop_counts_held_up_requests_from_when_due_and_what_it_never_sent() {
        // One connection offered 10 a second for 1 s against a server that takes 400 ms:
        // ten requests fall due, at 0, 100, ..., 900 ms. The one due at 100 ms is sent when
        // the first answer comes (about 400 ms) and answered at about 800 ms: 700 ms from
        // when it was due. When the time runs out, the connection is still behind, and
        // what it never sent is counted, not lost.
        let addr = slow_server(Duration::from_millis(400)).await;
        let out = run(Spec {
            addr,
            workload: Workload::Get("/slow".into()),
            connections: 1,
            duration: Duration::from_secs(1),
            max_requests: u64::MAX,
            first: 1,
            last: 1,
            ledger: Ledger::new(1),
            cursor: 0,
            rate: Some(10.0),
        })
        .await;
        let answered = out.latency.len();
        assert_eq!(out.errors(), 0, "{:?}", out.statuses);
        assert!(answered >= 2, "{answered} answered");
        assert_eq!(
            answered + out.unsent,
            10,
            "every request due is answered or unsent"
        );
        assert!(
            out.latency.max() >= 650_000,
            "the held-up request counts from when it was due: {} µs",
            out.latency.max()
        );
        // Only the first request found its connection free.
        assert_eq!(out.late.len(), 1);
    }

    #[test]
    fn a_late_request_does_not_move_the_next_one_due() {
        // The schedule is fixed in advance: a connection held up sends its late requests at
        // once, and their latency counts from when each was due.
        let started = Instant::now();
        let mut s = Schedule::new(10.0, 1, 0, started);
        assert_eq!(s.due(), started);
        assert_eq!(s.due(), started + Duration::from_millis(100));
        assert_eq!(s.due(), started + Duration::from_millis(200));
    }
}
