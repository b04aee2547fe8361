//! The real `edl authority serve` process for the CLI's tests: started on loopback on a
//! free port, with the address it prints.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The admin token the servers are started with (`edl_authority::testing::ADMIN`, so the
/// test support's admin client works against them).
pub const ADMIN: &str = "test-admin-token";
/// The test identity provider's secret (`edl_authority::testing::IDENTITY_SECRET`).
pub const IDENTITY_SECRET: &str = "test identity provider secret";

/// `edl authority serve --db DB --listen 127.0.0.1:0 ARGS…` with the admin token [`ADMIN`],
/// the identity secret [`IDENTITY_SECRET`], warnings only, no root key, and `envs`. Returns
/// the process and the address it listens on (`127.0.0.1:PORT`). Its stderr is read to the
/// end in a thread, so the server never blocks on a full pipe.
pub fn serve(db: impl AsRef<OsStr>, args: &[&str], envs: &[(&str, &OsStr)]) -> (Served, String) {
    serve_with(db, args, envs, |_| {})
}

/// Like [`serve`], with `prepare` applied to the command before it is started (limits the
/// process starts under, for instance).
pub fn serve_with(
    db: impl AsRef<OsStr>,
    args: &[&str],
    envs: &[(&str, &OsStr)],
    prepare: impl FnOnce(&mut Command),
) -> (Served, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_edl"));
    command
        .args(["authority", "serve", "--db"])
        .arg(db)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("EDL_ADMIN_TOKEN", ADMIN)
        .env("EDL_IDENTITY_SECRET", IDENTITY_SECRET)
        .env("RUST_LOG", "warn")
        // The root key only when a test gives one: never the developer's own.
        .env_remove("EDL_AUTHORITY_ROOT_KEY")
        .env_remove("EDL_AUTHORITY_ROOT_KEY_FILE")
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    prepare(&mut command);
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("edl authority listening on ")
                .map(str::to_owned)
        })
        .expect("the server says where it listens");
    std::thread::spawn(move || for _ in lines {});
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    (Served(child), addr)
}

/// A server process that is killed when dropped: a test that fails half-way does not
/// leave it running (and holding the test's output pipe open, which hangs the run).
pub struct Served(Child);

impl std::ops::Deref for Served {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Sends SIGTERM (what a service manager sends to stop it).
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Its exit status if it exits within `limit`; else it is killed and `None`.
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The body of `GET path` from the server at `addr`, byte for byte as it was sent (plain
/// HTTP/1.1, so nothing on the way decodes or re-encodes it); the answer must be 200.
pub fn get(addr: &str, path: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "GET {path} failed");
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    answer[split + 4..].to_vec()
}

/// Everything a finished `edl` printed, with its exit status, for assertion messages.
pub fn printed(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fake authority on loopback for `n` connections: each request's first bytes (up to
/// 8 KiB, the request line and headers) are read, and `answer` writes what the fake sends
/// back. Returns its URL.
pub fn fake_authority(n: usize, answer: impl Fn(&[u8], &mut TcpStream) + Send + 'static) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().take(n) {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0; 8192];
            let read = s.read(&mut buf).unwrap_or(0);
            answer(&buf[..read], &mut s);
        }
    });
    format!("http://{addr}")
}

/// Writes one whole answer: `status` (`"200 OK"`), `headers` (each ending in CRLF), and
/// `body` with its length, on a connection the fake then closes.
pub fn write_answer(s: &mut TcpStream, status: &str, headers: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
}
