//! `edl authority serve` on SIGTERM (D91): it stops accepting at once, answers the requests
//! already in flight, commits their writes, and exits 0 within its drain bound; past the
//! bound it exits non-zero instead of hanging. The real binary, raw sockets on loopback.

#![cfg(unix)]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{ADMIN, Served, sigterm, wait_within};

fn start(db: &Path, drain_secs: u64) -> (Served, String) {
    common::serve(db, &["--drain-secs", &drain_secs.to_string()], &[])
}

/// A request to create a verifier whose body is sent only in part: in flight.
fn half_sent(addr: &str, name: &str) -> (TcpStream, Vec<u8>) {
    let mut body = format!(r#"{{"name":"{name}","class":"insurer"}}"#).into_bytes();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /admin/verifiers HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let rest = body.split_off(body.len() / 2);
    s.write_all(&body).unwrap();
    (s, rest)
}

/// One request on its own connection; the whole answer.
fn request(addr: &str, line: &str, headers: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{line} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

#[test]
fn sigterm_finishes_requests_in_flight_commits_them_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("authority.db");
    let (mut child, addr) = start(&db, 20);

    let in_flight: Vec<_> = (0..8)
        .map(|n| half_sent(&addr, &format!("保险{n}")))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    sigterm(&child);
    std::thread::sleep(Duration::from_millis(300));
    // Not accepting any more: a new client is refused at once rather than left waiting.
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a draining server accepted a new connection"
    );
    // Still running: requests are in flight.
    assert!(child.try_wait().unwrap().is_none());

    let mut keys = Vec::new();
    for (mut s, rest) in in_flight {
        s.write_all(&rest).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        keys.push(v["api_key"].as_str().unwrap().to_owned());
    }
    let status = wait_within(&mut child, Duration::from_secs(10)).expect("it exits");
    assert!(status.success(), "{status:?}");

    // Every answered write was committed: the verifiers exist after a restart (a check
    // with their key is refused for the code, 403 as for any unknown number (D81), not
    // for the key, 401).
    let (mut child, addr) = start(&db, 5);
    for key in &keys {
        let answer = request(
            &addr,
            "POST /v1/verify",
            &format!("X-EDL-Api-Key: {key}\r\n"),
            r#"{"method":"manual","licence_number":"110101199003071234","code":"1234567"}"#,
        );
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(answer.contains("code_rejected"), "{answer}");
    }
    sigterm(&child);
    assert!(wait_within(&mut child, Duration::from_secs(10)).is_some_and(|s| s.success()));
}

#[test]
fn a_request_that_outlasts_the_drain_bound_ends_the_server_with_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(&dir.path().join("authority.db"), 1);
    // Half a body that never comes: the request would hold the server until its deadline.
    let (_stuck, _) = half_sent(&addr, "慢");
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    sigterm(&child);
    let status = wait_within(&mut child, Duration::from_secs(10)).expect("it exits");
    assert!(!status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
