//! The floors: what the same machine and generator do against a handler that does no
//! work. `/tiny` answers two bytes; `/sized/{n}` answers `n` constant bytes (up to 1 MiB,
//! a slice of one buffer made at start), to compare with an answer of the same size. Given
//! a database, the floor server also serves the durable floor (`durable.rs`).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;

use crate::durable::Durable;
use crate::{Error, Target};

const MAX: usize = 1 << 20;

async fn sized(State(body): State<Bytes>, Path(n): Path<usize>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.slice(..n.min(MAX)),
    )
}

/// The durable floor's database, its rows to read, and its read connections on PostgreSQL.
pub struct DurableArgs {
    /// A SQLite file or a PostgreSQL cluster's URL.
    pub target: Target,
    /// Rows to read.
    pub rows: u64,
    /// Read connections on PostgreSQL.
    pub pg_readers: usize,
}

/// Serves the floors on `listen` until SIGTERM or Ctrl-C; the durable floor too, when
/// given.
pub async fn serve(listen: SocketAddr, durable: Option<DurableArgs>) -> Result<(), Error> {
    let body = Bytes::from(vec![b'x'; MAX]);
    let mut app = Router::new()
        .route("/tiny", get(|| async { "ok" }))
        .route("/sized/{n}", get(sized))
        .with_state(body.clone());
    if let Some(d) = durable {
        app = app.merge(
            Durable::open(&d.target, d.rows, d.pg_readers, body)
                .await?
                .routes(),
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Setup(format!("bind {listen}: {e}")))?;
    eprintln!(
        "floor listening on {}",
        listener
            .local_addr()
            .map_err(|e| Error::Setup(e.to_string()))?
    );
    // TCP_NODELAY as the authority sets it (D102): the floors and the server are on
    // equal terms.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::stop_signal())
        .await
        .map_err(|e| Error::Setup(format!("floor: {e}")))
}
