//! `edl authority serve` and the open-file limit (third hostile review, C-F8; D144): at
//! the common soft limit of 1,024 descriptors the cap of 1,024 connections was never
//! reached, so accepts failed for want of a descriptor and clients waited in the backlog
//! with no answer instead of getting 503 with Retry-After.
#![cfg(target_os = "linux")]

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// Starts the process under the open-file limits `soft` and `hard`.
fn under_limit(command: &mut Command, soft: u64, hard: u64) {
    // SAFETY: `setrlimit` is async-signal-safe and touches only the child's own limits.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The soft and hard "Max open files" of a running process, from /proc.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// This test process's hard open-file limit.
fn own_hard_limit() -> u64 {
    open_file_limits(std::process::id()).1
}

/// What a new connection sending `GET /healthz` is answered within 3 s: its status line, or
/// `None` for no answer at all.
fn status_of_a_new_request(addr: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    // The server may answer (503) and close before reading the request: a failed write
    // still leaves its answer to read.
    let _ = write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines()
        .next()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
}

#[test]
fn the_server_raises_its_soft_open_file_limit_to_the_hard_one() {
    let hard = own_hard_limit();
    if hard <= 256 {
        eprintln!("skipped: this machine's hard limit ({hard}) leaves nothing to raise");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (child, _addr) = common::serve_with(dir.path().join("a.db"), &[], &[], |c| {
        under_limit(c, 256, hard)
    });
    assert_eq!(open_file_limits(child.id()), (hard, hard));
}

/// Under a limit the cap does not fit in, the server serves fewer connections at once and
/// answers the next client 503 with Retry-After at once, instead of leaving it unanswered.
#[test]
fn a_low_open_file_limit_lowers_the_connection_cap_and_the_next_client_gets_503() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, addr) = common::serve_with(dir.path().join("a.db"), &[], &[], |c| {
        under_limit(c, 200, 200)
    });
    assert_eq!(
        status_of_a_new_request(&addr).as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    // More idle connections than the limit has descriptors: each holds a descriptor on the
    // server until its header-read timeout (10 s) if it is accepted.
    let held: Vec<TcpStream> = (0..250)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // Let the server take in what it will.
    std::thread::sleep(Duration::from_millis(500));
    let status = status_of_a_new_request(&addr);
    assert_eq!(
        status.as_deref(),
        Some("HTTP/1.1 503 Service Unavailable"),
        "a client past what the limit allows must be told to come back, not left waiting"
    );
    drop(held);
    // Once those are gone, the server serves again.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = status_of_a_new_request(&addr);
        if status.as_deref() == Some("HTTP/1.1 200 OK") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not served again after the idle connections closed: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
