//! The deadline of one request, its body included (issue 13, finding 4; D67). A request
//! that runs past it is answered either way the clients can act on (thirteenth review,
//! T-F2; D181): one whose body never arrived in full is the client network's (408
//! `request_timeout`, nothing decided, send it again); one that arrived but was not
//! answered in time is the server's, and what it wrote, if anything, is not known here
//! (503 `unavailable` with Retry-After, as after a commit whose answer was lost).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};

use crate::error::Error;

/// Runs the request within `limit`, else answers for it as the module says.
pub(crate) async fn enforce(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let arrival = Arrival::new(body);
    let arrived = arrival.arrived.clone();
    let request = Request::from_parts(parts, Body::new(arrival));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let secs = limit.as_secs();
            // With the JSON body of every refusal (C-F7).
            let mut response = if arrived.load(Ordering::Acquire) {
                Error::NotAnsweredInTime(secs)
            } else {
                Error::TooSlowToArrive(secs)
            }
            .into_response();
            // Made outside the router, so its `no-store` layer never sees it (D147).
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

/// A request body that notes when it has been read to its end (at once for a request
/// without one).
struct Arrival {
    inner: Body,
    arrived: Arc<AtomicBool>,
}

impl Arrival {
    fn new(inner: Body) -> Arrival {
        let arrived = Arc::new(AtomicBool::new(inner.is_end_stream()));
        Arrival { inner, arrived }
    }
}

impl HttpBody for Arrival {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.arrived.store(true, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
