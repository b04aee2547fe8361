//! `edl authority serve` starts a real server on a database file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn authority_serve_answers_on_the_address_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("authority.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["authority", "serve", "--db"])
        .arg(&db)
        .args(["--listen", "127.0.0.1:0"])
        .env("EDL_ADMIN_TOKEN", "test-token")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("edl authority listening on ")
                .map(str::to_owned)
        })
        .expect("the server says where it listens");
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /v1/trust-list HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"trust_list\""));
    assert!(db.exists(), "the database file was created");
}
