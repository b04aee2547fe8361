//! Half-sent requests and connection floods (issue 13, finding 4): a client that sends its
//! headers slowly is cut off, and connections over the cap are answered 503 with
//! Retry-After instead of queueing. Real server on loopback, raw sockets, bounded in time.

mod common;

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
        answer.to_ascii_lowercase().contains("retry-after:"),
        "{answer}"
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
