//! Serving connections with limits axum's own `serve` lacks (issue 13, finding 4; D67): a
//! header-read timeout (a client trickling its headers is cut off; the deadline of a whole
//! request is `deadline.rs`'s), and a cap on connections served at once (more are
//! answered 503 with Retry-After and closed, instead of holding sockets and memory). An
//! answer's write that makes no progress for a while (a client that stopped reading) ends
//! its connection (third hostile review, C-F3; D138).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

use crate::http::extract::PeerAddr;

use crate::metrics::Metrics;

/// The limits of [`accept_loop`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

/// Seconds a client refused for a full server is told to wait.
const FULL_RETRY_AFTER: u64 = 5;

/// The most a connection buffers: a request head larger than this is answered 431 (a
/// client's is a few KiB: a signed request's headers are under 1 KiB). Bodies are read
/// through it in pieces, so their own limits are the routes' (64 KiB, 3 MiB).
const MAX_HEAD: usize = 64 * 1024;

/// Accepts connections until `shutdown`, then lets those in flight finish.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
    limits: Limits,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(crate::open_files::MAX_REFUSING));
    let (closing, close_rx) = watch::channel(false);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A failed accept (out of file descriptors, a reset) is not the server's end.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.shed("connections");
            // A flood past the cap could otherwise spend the descriptors kept beside it on
            // answers (D144): past that many at once, a connection is closed unanswered.
            if let Ok(refusing) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(refusing);
                });
            }
            continue;
        };
        // An answer goes out as soon as it is written: without this, Nagle's algorithm holds
        // a small last segment until the client's delayed ACK (tens of ms) on a keep-alive
        // connection (measured in docs/BENCHMARKS.md, D102).
        let _ = stream.set_nodelay(true);
        // A Router serves any body type, hyper's `Incoming` included. Each request carries
        // its peer's address (the enrolment back-off per source, D75; behind a trusted
        // proxy, the client it forwards, D199).
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(PeerAddr(peer));
                request
            },
        ));
        let mut close = close_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                // A head past this is 431: hyper's default (about 400 KiB) let an anonymous
                // connection hold that much for the header timeout (AH-F5).
                .max_buf_size(MAX_HEAD);
            // A write that stalls this long fails, and hyper closes the connection.
            let mut stream = TimeoutStream::new(stream);
            stream.set_write_timeout(Some(limits.write_timeout));
            let conn = builder.serve_connection(TokioIo::new(Box::pin(stream)), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = close.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    // Closed at once: a client connecting while the others drain is refused (and tries
    // another instance) instead of waiting in the backlog of a server that will not
    // accept it.
    drop(listener);
    drop(close_rx);
    let _ = closing.send(true);
    // Every connection task holds a receiver: wait until the last one has finished.
    closing.closed().await;
    Ok(())
}

/// Answers a connection over the cap with 503 and Retry-After, without reading it.
async fn refuse(mut stream: TcpStream) {
    let body = format!(
        r#"{{"error":"unavailable","message":"the server is at its connection limit","retry_after":{FULL_RETRY_AFTER}}}"#
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncache-control: no-store\r\nretry-after: {FULL_RETRY_AFTER}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}
