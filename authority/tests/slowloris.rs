//! Half-sent requests and connection floods (issue 13, finding 4): a client that sends its
//! headers slowly is cut off, and connections over the cap are answered 503 with
//! Retry-After instead of queueing. A client that stops reading its answers is cut off too
//! (third hostile review, C-F3), and a request too slow to arrive gets a JSON 408 (C-F7).
//! Real server on loopback, raw sockets, bounded in time.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use edl_authority::{ManualClock, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn read_all(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let end = Instant::now() + within;
    loop {
        let left = end.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_a_full_server_says_503_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut c = config(dir.path().join("a.db"), &clock);
    c.header_timeout = Duration::from_secs(1);
    c.max_connections = 2;
    let server = serve(c).await.unwrap();
    let addr = server.addr();

    // Two slowloris connections: half a request line, then a byte now and then.
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The server is full: a third connection is refused at once, with a time to come back.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /v1/trust-list HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut third, Duration::from_secs(3))
        .await
        .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 5\r\n"),
        "{answer}"
    );
    // The body says it too, as every 503's does (HTTP.md).
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(
        (body["error"].as_str(), body["retry_after"].as_u64()),
        (Some("unavailable"), Some(5)),
        "{body}"
    );
    // The slow ones are closed once the header timeout passes, whatever they still send.
    for s in &mut slow {
        let _ = s.write_all(b"X-Slow: 1\r\n").await;
        let closed = read_all(s, Duration::from_secs(4)).await;
        assert!(closed.is_some(), "a half-sent request held its connection");
    }
    // And the freed capacity serves an honest client.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let url = server.url();
    let status = reqwest::get(format!("{url}/v1/trust-list"))
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    server.shutdown().await.unwrap();
}

/// A client that asks for many answers and reads none held its connection (and its place
/// under the cap) for as long as it liked: nothing timed the server's writes (third
/// hostile review, C-F3). Now a write that makes no progress for `Config::write_timeout`
/// ends the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_and_its_place_freed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut c = config(dir.path().join("a.db"), &clock);
    c.max_connections = 1;
    c.write_timeout = Duration::from_secs(1);
    let server = serve(c).await.unwrap();
    let addr = server.addr();

    // A small receive window, and 100 pipelined requests for the 147 KB script: far more
    // than the sockets' buffers hold.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: x\r\n\r\n",
        edl_authority::http::web::FILES[1].0
    );
    stuck
        .write_all(request.repeat(100).as_bytes())
        .await
        .unwrap();

    // Its place comes free once the server's write has stalled for a second.
    let url = server.url();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        // Refused meanwhile: 503, or the connection closed before the request was read.
        let status = reqwest::get(format!("{url}/v1/trust-list"))
            .await
            .map(|r| r.status());
        if status.as_ref().is_ok_and(|s| s.is_success()) {
            break;
        }
        if let Ok(status) = status {
            assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE);
        }
        assert!(Instant::now() < end, "the stuck client kept the only place");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(stuck);
    server.shutdown().await.unwrap();
}

/// A request whose body does not arrive within the deadline is answered 408 with the JSON
/// error body every refusal has (C-F7: it had none), and a code of its own that says it
/// may be sent again: not `bad_request`, which clients take as final (T-F2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_too_slow_to_arrive_gets_a_json_408() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut c = config(dir.path().join("a.db"), &clock);
    c.request_timeout = Duration::from_secs(1);
    let server = serve(c).await.unwrap();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(
        b"POST /v1/enrol HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let answer = read_all(&mut s, Duration::from_secs(5))
        .await
        .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Stored by no cache, like every answer the router makes (D147).
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\ncache-control: no-store\r\n"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(body["error"], "request_timeout", "{body}");
    server.shutdown().await.unwrap();
}
