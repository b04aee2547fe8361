//! The deadline of one request, its body included (issue 13, finding 4; D67). A request
//! that runs past it is answered either way the clients can act on (thirteenth review,
//! T-F2; D181): one whose handler was, at that moment, waiting for more of its body is the
//! client network's (408 `request_timeout`, nothing decided, send it again); any other is
//! the server's, and what it wrote, if anything, is not known here (503 `unavailable` with
//! Retry-After, as after a commit whose answer was lost). Which of the two is asked of the
//! body itself (fourteenth review, U-F2; D183): a handler that has not read its body yet
//! (an admin call's audit entry is written first) is not waiting for the client.

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
    let waiting = arrival.waiting.clone();
    let request = Request::from_parts(parts, Body::new(arrival));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let secs = limit.as_secs();
            // With the JSON body of every refusal (C-F7).
            let mut response = late(waiting.load(Ordering::Acquire), secs).into_response();
            // Made outside the router, so its `no-store` layer never sees it (D147).
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

/// The answer to a request past its deadline of `secs`: the client's network if its
/// handler was then waiting for more of the body, else the server's.
fn late(waiting_for_body: bool, secs: u64) -> Error {
    if waiting_for_body {
        Error::TooSlowToArrive(secs)
    } else {
        Error::NotAnsweredInTime(secs)
    }
}

/// A request body that notes whether its reader is waiting for bytes the client has not
/// sent: its last read found none ready, and the body has not ended.
struct Arrival {
    inner: Body,
    waiting: Arc<AtomicBool>,
}

impl Arrival {
    fn new(inner: Body) -> Arrival {
        Arrival {
            inner,
            waiting: Arc::new(AtomicBool::new(false)),
        }
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
        self.waiting.store(frame.is_pending(), Ordering::Release);
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::wire::ErrorCode;

    #[test]
    fn only_a_request_waiting_for_its_body_is_the_client_s() {
        assert_eq!(late(true, 30).code(), ErrorCode::RequestTimeout);
        assert_eq!(late(false, 30).code(), ErrorCode::Unavailable);
    }
}
