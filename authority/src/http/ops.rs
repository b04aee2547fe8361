//! What the operator's tooling calls (D90): `/healthz` (the process answers), `/readyz`
//! (the database answers and the writer keeps up: send traffic here) and `/metrics`
//! (Prometheus, behind its own bearer token).
//!
//! Not part of the OpenAPI document: they are for load balancers and scrapers, not for
//! wallets and verifiers; `docs/HTTP.md` describes them.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use edl_core::crypto::{ct_eq, sha256};
use edl_core::wire::{ErrorBody, ErrorCode, HEADER_AUTHORIZATION};

use super::extract::AppState;
use crate::error::Error;

/// Alive: the process serves HTTP.
pub const HEALTHZ: &str = "/healthz";
/// Ready: the database answers and store writes are being committed.
pub const READYZ: &str = "/readyz";
/// The Prometheus text exposition.
pub const METRICS: &str = "/metrics";

/// Longest `/readyz` waits for the database before saying not ready.
const DATABASE_PROBE: Duration = Duration::from_secs(2);
/// Retry-After of a not-ready answer, in seconds.
const NOT_READY_RETRY: u64 = 1;

/// The three routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz))
        .route(METRICS, get(metrics))
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "alive"})).into_response()
}

async fn readyz(State(app): State<AppState>) -> Response {
    // A read through the store's own pool: the database file (or server) answers, with
    // its clock where the store has one of its own.
    let probe = async {
        app.store.issuer_keys().await?;
        let writable = app.store.takes_writes().await?;
        app.store.database_time().await.map(|time| (writable, time))
    };
    let database = tokio::time::timeout(DATABASE_PROBE, probe).await;
    let problem = match database {
        Err(_) => Some("the database does not answer in time".to_owned()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database read failed");
            Some("the database cannot be read".to_owned())
        }
        // Every write would be refused (25006): a standby, or a host demoted (AR-3).
        Ok(Ok((false, _))) => Some("the database takes no writes (a standby, or read-only)".into()),
        Ok(Ok((true, database_time))) => match (
            app.store.writer_held_for(),
            app.store.writer_busy_for(),
            app.metrics.writer_progress(app.config.writer_stall),
        ) {
            // The database holds a commit: writes are refused meanwhile (D179).
            (Some(held), _, _) if held > app.config.writer_stall => Some(format!(
                "the database has held a commit for {} s; writes are refused meanwhile",
                held.as_secs()
            )),
            // The writer is stuck on one batch (a row another session holds, a server
            // that does not answer), whether or not a request still waits for it: the
            // requests that did were dropped at their deadline (AR-1).
            (_, Some(busy), _) if busy > app.config.writer_stall => Some(format!(
                "the writer has been on one batch for {} s; writes wait meanwhile",
                busy.as_secs()
            )),
            (_, _, Err(secs)) => Some(format!(
                "store writes are waiting and none was committed for {secs} s"
            )),
            (_, _, Ok(())) => database_time
                .zip(app.config.max_clock_skew)
                .and_then(|(database, max)| clock_apart(app.now(), database, max.as_secs())),
        },
    };
    let Some(message) = problem else {
        return axum::Json(serde_json::json!({"status": "ready"})).into_response();
    };
    let mut body = ErrorBody::new(ErrorCode::Unavailable, message);
    body.retry_after = Some(NOT_READY_RETRY);
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(NOT_READY_RETRY));
    response
}

/// What `/readyz` says of a process whose clock (`process`, Unix seconds) is more than
/// `max` seconds from the database's (`database`): such a process takes codes the others
/// find expired, or refuses good ones, and writes rows the others prune early or late
/// (D170, D182). `None` within the bound.
fn clock_apart(process: u64, database: u64, max: u64) -> Option<String> {
    let problem = if process.saturating_add(max) < database {
        format!(
            "this process's clock is {} s behind the database's",
            database - process
        )
    } else if database.saturating_add(max) < process {
        format!(
            "this process's clock is {} s ahead of the database's",
            process - database
        )
    } else {
        return None;
    };
    tracing::warn!(process, database, "readiness: {problem}");
    Some(problem)
}

async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    let expected = &app.config.metrics_token;
    let given = headers
        .get(HEADER_AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(Error::Unauthorized)?;
    // Hashes first, so the comparison takes the same time whatever the lengths.
    if expected.is_empty() || !ct_eq(&sha256(given.as_bytes()), &sha256(expected.as_bytes())) {
        return Err(Error::Unauthorized);
    }
    if let Some((batches, jobs)) = app.store.writer_counts() {
        app.metrics.set_writer_totals(batches, jobs);
    }
    app.metrics.set_writer_held(app.store.writer_held_for());
    app.metrics.set_pools(&app.store.pool_use());
    let response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        app.metrics.render(),
    )
        .into_response();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::clock_apart;

    #[test]
    fn a_clock_within_the_bound_either_way_is_ready_and_one_past_it_is_not() {
        assert_eq!(clock_apart(1_000, 1_000, 60), None);
        assert_eq!(clock_apart(940, 1_000, 60), None);
        assert_eq!(clock_apart(1_060, 1_000, 60), None);
        assert_eq!(
            clock_apart(939, 1_000, 60).as_deref(),
            Some("this process's clock is 61 s behind the database's")
        );
        assert_eq!(
            clock_apart(1_061, 1_000, 60).as_deref(),
            Some("this process's clock is 61 s ahead of the database's")
        );
        // No overflow at the ends of the range.
        assert!(clock_apart(u64::MAX, 0, 60).is_some());
        assert!(clock_apart(0, u64::MAX, 60).is_some());
        assert_eq!(clock_apart(u64::MAX, u64::MAX, u64::MAX), None);
    }
}
