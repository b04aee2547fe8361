//! The matrix against one running authority and one floor server: for each connection
//! count, the two floors then each workload, one bounded run at a time. After each run
//! it reads the server's `/metrics` (writer batch sizes, write latency, shed requests) and
//! its CPU time, and after each verification run it checks that the log rows added equal
//! the 200 answers. Prints a Markdown table.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::codes::Ledger;
use crate::generate::{self, Outcome, Spec, Workload};
use crate::{Error, Target, db};

/// `edl-load bench` arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The authority's database (to count log rows): SQLite file or postgres:// URL.
    #[arg(long)]
    db: String,
    /// The authority's address.
    #[arg(long)]
    authority: SocketAddr,
    /// The floor server's address.
    #[arg(long)]
    floor: SocketAddr,
    /// The durable floor's address (`edl-load floor --durable`), for the `durable` and
    /// `append` workloads.
    #[arg(long)]
    durable_floor: Option<SocketAddr>,
    /// The durable floor's process id (its CPU time is read from /proc).
    #[arg(long)]
    durable_floor_pid: Option<u32>,
    /// The authority's process id (its CPU time is read from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Connection counts.
    #[arg(long, value_delimiter = ',', default_value = "64,256,1000")]
    connections: Vec<usize>,
    /// Workloads: tiny, sized, durable, append, qr, manual, sync, mix.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "tiny,sized,qr,manual,sync,mix"
    )]
    workloads: Vec<String>,
    /// Seconds per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Requests per run at most.
    #[arg(long, default_value_t = 200_000)]
    max_requests: u64,
    /// Offered rates, requests a second over all connections: each workload is run at each
    /// in an open loop (its latency counted from when each request was due). None given:
    /// one closed-loop run a workload, each connection sending again once answered.
    #[arg(long, value_delimiter = ',')]
    rates: Vec<f64>,
    /// Markdown header line first.
    #[arg(long)]
    header: bool,
}

/// The counters of `/metrics` the table needs, summed over labels.
#[derive(Debug, Default, Clone)]
struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let mut m = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = key.split_once('{').unwrap_or((key, ""));
            let wanted = match name {
                "edl_writer_batches_total" | "edl_writer_jobs_total" | "edl_shed_total" => {
                    Some(name.to_owned())
                }
                "edl_store_write_duration_seconds_sum"
                | "edl_store_write_duration_seconds_count" => {
                    labels.split('"').nth(1).map(|op| format!("{name}:{op}"))
                }
                _ => None,
            };
            if let Some(k) = wanted {
                *m.entry(k).or_default() += value;
            }
        }
        Metrics(m)
    }

    fn get(&self, k: &str) -> f64 {
        self.0.get(k).copied().unwrap_or(0.0)
    }

    /// What the writer did between `self` and `later`, in words.
    fn limits(&self, later: &Metrics) -> String {
        let d = |k: &str| later.get(k) - self.get(k);
        let mut parts = Vec::new();
        let batches = d("edl_writer_batches_total");
        if batches > 0.0 {
            parts.push(format!("batch {:.1}", d("edl_writer_jobs_total") / batches));
        }
        for (op, name) in [("log_verification", "log"), ("record_nonce", "nonce")] {
            let n = d(&format!("edl_store_write_duration_seconds_count:{op}"));
            if n > 0.0 {
                let s = d(&format!("edl_store_write_duration_seconds_sum:{op}"));
                parts.push(format!("{name} write {:.1} ms", 1000.0 * s / n));
            }
        }
        let shed = d("edl_shed_total");
        if shed > 0.0 {
            parts.push(format!("shed {shed:.0}"));
        }
        parts.join(", ")
    }
}

async fn http_get(addr: SocketAddr, path: &str, token: &str) -> Option<(u16, Bytes)> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .ok()?;
    let resp = s.send_request(req).await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.into_body().collect().await.ok()?.to_bytes()))
}

/// The rows the durable floor has appended, and the batches it has committed.
async fn durable_counts(addr: SocketAddr) -> Result<(u64, u64), Error> {
    match http_get(addr, "/durable-counts", "").await {
        Some((200, body)) => {
            let text = String::from_utf8_lossy(&body);
            let mut counts = text.split(' ').map(str::parse::<u64>);
            match (counts.next(), counts.next()) {
                (Some(Ok(rows)), Some(Ok(batches))) => Ok((rows, batches)),
                _ => Err(Error::Setup(
                    "the durable floor's counts are not two numbers".into(),
                )),
            }
        }
        other => Err(Error::Setup(format!(
            "the durable floor's rows were not counted: {:?}",
            other.map(|(status, _)| status)
        ))),
    }
}

async fn metrics(addr: SocketAddr) -> Metrics {
    let token = std::env::var("EDL_METRICS_TOKEN").unwrap_or_default();
    match http_get(addr, "/metrics", &token).await {
        Some((200, body)) => Metrics::parse(&String::from_utf8_lossy(&body)),
        _ => Metrics::default(),
    }
}

/// The process's CPU seconds (user + system) from /proc.
fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn ms(micros: u64) -> String {
    format!("{:.1}", micros as f64 / 1000.0)
}

/// Runs the matrix and prints its rows.
pub async fn run(args: Args) -> Result<(), Error> {
    // At least one a second (a tinier rate's interval overflows a `Duration`), at most a
    // million.
    if let Some(bad) = args
        .rates
        .iter()
        .find(|r| !(r.is_finite() && (1.0..=1e6).contains(*r)))
    {
        return Err(Error::Setup(format!(
            "a rate is requests a second, 1 to 1,000,000: not {bad}"
        )));
    }
    let target = Target::parse(&args.db);
    let drivers = one_count(&target).await?;
    let cursor = db::cursor(&target).await?;
    if args.header {
        println!(
            "| backend | drivers | workload | conns | req/s | × tiny floor | × same-size floor | \
             × durable floor | answer B | p50 ms | p99 ms | p99.9 ms | errors | log rows = 200s | \
             server CPU | what limits |"
        );
        println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
    }
    let ledger = Ledger::new(drivers);
    // One verification first, to size the same-size floor like the answer.
    let mut probe = spec(
        &args,
        args.authority,
        Workload::Qr,
        1,
        &ledger,
        cursor,
        1,
        None,
    );
    (probe.first, probe.last) = (1, 1);
    let probe = generate::run(probe).await;
    let size = probe.ok_size();
    if size == 0 {
        return Err(Error::Setup(format!(
            "the probe verification was not answered 200: {:?}",
            probe.statuses
        )));
    }
    let rates: Vec<Option<f64>> = if args.rates.is_empty() {
        vec![None]
    } else {
        args.rates.iter().map(|r| Some(*r)).collect()
    };
    for (&conns, &rate) in args
        .connections
        .iter()
        .flat_map(|c| rates.iter().map(move |r| (c, r)))
    {
        let mut floors = Floors::default();
        for w in &args.workloads {
            let (addr, workload) = match w.as_str() {
                "tiny" => (args.floor, Workload::Get("/tiny".into())),
                "sized" => (args.floor, Workload::Get(format!("/sized/{size}"))),
                "durable" | "append" => match args.durable_floor {
                    Some(addr) => (addr, Workload::Get(format!("/{w}/{size}"))),
                    None => {
                        return Err(Error::Setup(
                            "the durable and append workloads need --durable-floor".into(),
                        ));
                    }
                },
                "qr" => (args.authority, Workload::Qr),
                "manual" => (args.authority, Workload::Manual),
                "sync" => (args.authority, Workload::Sync),
                "mix" => (args.authority, Workload::Mix),
                other => return Err(Error::Setup(format!("unknown workload {other}"))),
            };
            let on_server = addr == args.authority;
            let durable = matches!(w.as_str(), "durable" | "append");
            let before = metrics(args.authority).await;
            let (rows_before, batches_before) = if on_server {
                (db::log_rows(&target).await?, 0)
            } else if durable {
                durable_counts(addr).await?
            } else {
                (0, 0)
            };
            // The CPU of the process that answers: the authority's, or the durable floor's.
            let pid = if durable {
                args.durable_floor_pid
            } else {
                args.server_pid
            };
            let cpu_before = cpu_secs(pid);
            let out = generate::run(spec(
                &args,
                addr,
                workload,
                conns,
                &ledger,
                cursor,
                args.max_requests,
                rate,
            ))
            .await;
            // Let the writer finish what was answered before counting rows.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let after = metrics(args.authority).await;
            let mut limits = before.limits(&after);
            let rows = if on_server {
                Some(db::log_rows(&target).await? - rows_before)
            } else if durable {
                // Saturating: a floor restarted mid-bench counts from nothing again.
                let (rows, batches) = durable_counts(addr).await?;
                let (rows, batches) = (
                    rows.saturating_sub(rows_before),
                    batches.saturating_sub(batches_before),
                );
                if batches > 0 {
                    limits = format!("batch {:.1}", rows as f64 / batches as f64);
                }
                Some(rows)
            } else {
                None
            };
            let cpu = match (cpu_before, cpu_secs(pid)) {
                (Some(a), Some(b)) if on_server || durable => {
                    format!("{:.0} %", 100.0 * (b - a) / out.elapsed.as_secs_f64())
                }
                _ => "—".into(),
            };
            match w.as_str() {
                "tiny" => floors.tiny = Some(out.rate()),
                "sized" => floors.sized = Some(out.rate()),
                "durable" => floors.durable = Some(out.rate()),
                _ => {}
            }
            print_row(
                &target, drivers, w, rate, conns, &out, &floors, rows, &cpu, &limits,
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(())
}

async fn one_count(target: &Target) -> Result<u64, Error> {
    let (_, _, drivers) = db::size(target).await?;
    Ok(drivers)
}

#[allow(clippy::too_many_arguments)]
fn spec(
    args: &Args,
    addr: SocketAddr,
    workload: Workload,
    connections: usize,
    ledger: &Arc<Ledger>,
    cursor: u64,
    max_requests: u64,
    rate: Option<f64>,
) -> Spec {
    Spec {
        addr,
        workload,
        connections,
        duration: Duration::from_secs(args.duration),
        max_requests,
        first: 1,
        last: ledger.drivers(),
        ledger: ledger.clone(),
        cursor,
        rate,
    }
}

/// The floors measured so far at one connection count, in requests a second.
#[derive(Default)]
struct Floors {
    tiny: Option<f64>,
    sized: Option<f64>,
    durable: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
fn print_row(
    target: &Target,
    drivers: u64,
    workload: &str,
    rate_offered: Option<f64>,
    conns: usize,
    out: &Outcome,
    floors: &Floors,
    rows: Option<u64>,
    cpu: &str,
    limits: &str,
) {
    let rate = out.rate();
    let ratio = |floor: Option<f64>| floor.map_or("—".into(), |f| format!("{:.2}", rate / f));
    let h = &out.latency;
    let errors = if out.errors() == 0 {
        "0".to_owned()
    } else {
        let mut e: Vec<String> = out
            .statuses
            .iter()
            .filter(|(s, _)| **s != 200)
            .map(|(s, n)| format!("{n}×{s}"))
            .collect();
        if out.failed > 0 {
            e.push(format!("{} unanswered", out.failed));
        }
        e.join(" ")
    };
    // The durable floor's 200s each appended a row, as a check's each logged one.
    let written = match workload {
        "durable" | "append" => out.statuses.get(&200).copied().unwrap_or(0),
        _ => out.verified,
    };
    let logged = match rows {
        None => "—".to_owned(),
        Some(r) if matches!(workload, "sync") => format!("{r} (sync: none expected)"),
        Some(r) if r == written => format!("{r} = {written} ✓"),
        Some(r) => format!("{r} ≠ {written} ✗"),
    };
    let mut limits = limits.to_owned();
    if out.exhausted {
        limits.push_str(if limits.is_empty() {
            "fresh codes ran out"
        } else {
            ", fresh codes ran out"
        });
    }
    // An open loop's row also says whether the generator kept its schedule (AL-F7): how
    // late it began requests its connection was free for, and what fell due unsent.
    if rate_offered.is_some() {
        let mut kept = format!(
            "generator late p99 {} ms",
            ms(out.late.value_at_quantile(0.99))
        );
        if out.unsent > 0 {
            kept.push_str(&format!(", {} due unsent", out.unsent));
        }
        limits = if limits.is_empty() {
            kept
        } else {
            format!("{limits}, {kept}")
        };
    }
    // An open loop's row names the rate offered; its req/s is what was answered.
    let named = match rate_offered {
        Some(r) => format!("{workload} at {r:.0}/s"),
        None => workload.to_owned(),
    };
    println!(
        "| {} | {drivers} | {named} | {conns} | {rate:.0} | {} | {} | {} | {} | {} | {} | {} | {errors} | {logged} | {cpu} | {limits} |",
        target.backend(),
        ratio(floors.tiny),
        ratio(floors.sized),
        ratio(floors.durable),
        out.ok_size(),
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
    );
}
