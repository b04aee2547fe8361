//! The CLI against a hostile authority, or whatever answers in its place (a review of the
//! CLI, 2026-12-05): the text it prints cannot move the cursor or forge a line, a redirect
//! is not followed, an authority that never answers is given up on, and the files a
//! command names are neither read without bound nor written through a link.

use crate::common;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::printed;

fn edl(args: &[&str]) -> Output {
    edl_with(args, &[])
}

/// `edl args` with the variables `env` set as well.
fn edl_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(args)
        .env("EDL_ADMIN_TOKEN", "token")
        .env_remove("EDL_ROOT")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A fake authority (or proxy) for `n` connections that answers `200 []` and hands on
/// each request it got.
fn recording(n: usize) -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = common::fake_authority(n, move |request, s| {
        let _ = tx.send(request.to_vec());
        common::write_answer(s, "200 OK", "content-type: application/json\r\n", b"[]");
    });
    (url, rx)
}

/// A fake authority answering every request with `status` and `body` (JSON), plus
/// `headers`; it serves `n` connections.
fn answering(status: &'static str, headers: &'static str, body: String, n: usize) -> String {
    common::fake_authority(n, move |_, s| {
        let headers = format!("content-type: application/json\r\n{headers}");
        common::write_answer(s, status, &headers, body.as_bytes());
    })
}

/// The refusal's message is the authority's text: printed, it could erase the line and
/// write "✓ verified" in its place (the review saw exactly that on a real terminal).
#[test]
fn an_authority_s_message_cannot_move_the_cursor_or_forge_a_line() {
    let message = "bad\r\x1b[1A\x1b[2K✓ verified offline\n✓ in force\x1b]0;pwned\x07\u{202E}";
    let body = serde_json::json!({"error": "bad_request", "message": message}).to_string();
    let url = answering("400 Bad Request", "", body, 1);
    let out = edl(&["authority", "admin", "--authority", &url, "review", "list"]);
    let text = printed(&out);
    assert_ne!(out.status.code(), Some(0), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for hidden in ['\x1b', '\r', '\x07', '\u{202E}'] {
        assert!(!stderr.contains(hidden), "{hidden:?} printed: {stderr:?}");
    }
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("refused (bad_request): bad"), "{stderr:?}");
    assert!(stderr.contains('\u{FFFD}'), "{stderr:?}");
}

/// An admin call answered with a redirect is refused, not sent on with the driver's data
/// to wherever it points (and then reported as done).
#[test]
fn a_redirect_is_not_followed() {
    let (elsewhere, seen) = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok((mut s, _)) = listener.accept() {
                    let _ = tx.send(());
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        (format!("http://{addr}"), rx)
    };
    let location: &'static str =
        Box::leak(format!("location: {elsewhere}/admin/reviews\r\n").into_boxed_str());
    let url = answering("307 Temporary Redirect", location, String::new(), 1);
    let out = edl(&["authority", "admin", "--authority", &url, "review", "list"]);
    assert_ne!(out.status.code(), Some(0), "{}", printed(&out));
    assert!(
        seen.recv_timeout(Duration::from_millis(500)).is_err(),
        "the redirect was followed"
    );
}

/// An authority that takes the connection and never answers is given up on: a script
/// running `edl` at a counter does not hang for ever.
#[test]
fn an_authority_that_never_answers_is_given_up_on() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(4) {
            held.push(s);
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["authority", "admin", "--authority", &url, "review", "list"])
        .env("EDL_ADMIN_TOKEN", "token")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = common::wait_within(&mut child, Duration::from_secs(60));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let status = status.expect("edl gave up within 60 s");
    assert!(!status.success());
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "gave up at once"
    );
}

/// Plain HTTP to an authority on another machine is refused before anything is sent, as
/// the phone library and `edl verify --authority` refuse it (D63, D172): the admin token
/// would cross the network in clear, and an unchecked list could be swapped on the way.
/// `0.0.0.0` reaches this machine's fake authority, but it is not a loopback address, so it
/// stands for another host here; the same call to 127.0.0.1 is sent.
#[test]
fn plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    let (url, rx) = recording(4);
    let remote = url.replace("127.0.0.1", "0.0.0.0");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("list.bin");
    let out = out.to_str().unwrap();
    for args in [
        vec![
            "authority",
            "admin",
            "--authority",
            &remote,
            "review",
            "list",
        ],
        vec![
            "authority",
            "trust-list",
            "--authority",
            &remote,
            "--out",
            out,
        ],
        vec![
            "authority",
            "status-list",
            "--authority",
            &remote,
            "--out",
            out,
        ],
    ] {
        let answer = edl(&args);
        let stderr = String::from_utf8_lossy(&answer.stderr);
        assert_eq!(answer.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("https://"), "{args:?}: {stderr}");
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "{args:?}: a request reached the authority over plain HTTP"
        );
    }
    assert!(!dir.path().join("list.bin").exists(), "nothing saved");
    let answer = edl(&["authority", "admin", "--authority", &url, "review", "list"]);
    assert_eq!(answer.status.code(), Some(0), "{}", printed(&answer));
    let request = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("sent to loopback");
    assert!(String::from_utf8_lossy(&request).contains("Bearer token"));
}

/// A plain-HTTP call to an authority on this machine goes straight to it, never through a
/// proxy named by the environment, which may be another machine: the CLI's admin call (its
/// token) and the core's online check (`edl verify --authority`: the API key) alike (ninth
/// review, P-F1). Before, both went to the proxy, and the admin call exited 0 on its
/// answer. Nothing listens on the authority's port, so only the proxy could answer.
#[test]
fn plain_http_to_this_machine_does_not_go_through_a_proxy_from_the_environment() {
    let (proxy, rx) = recording(2);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    for args in [
        vec![
            "authority",
            "admin",
            "--authority",
            &authority,
            "review",
            "list",
        ],
        vec![
            "verify",
            "--authority",
            &authority,
            "--verifier-key",
            "s3cret-api-key",
            "--code",
            "2123456",
            "--licence",
            "110101199003070001",
        ],
    ] {
        let answer = edl_with(
            &args,
            &[
                ("http_proxy", &proxy),
                ("HTTP_PROXY", &proxy),
                ("ALL_PROXY", &proxy),
                ("NO_PROXY", ""),
                ("no_proxy", ""),
            ],
        );
        assert_ne!(
            answer.status.code(),
            Some(0),
            "{args:?}: {}",
            printed(&answer)
        );
        if let Ok(seen) = rx.recv_timeout(Duration::from_millis(500)) {
            panic!(
                "{args:?} went to the proxy:\n{}",
                String::from_utf8_lossy(&seen)
            );
        }
    }
}

/// A FIFO nobody writes to, or a device, named as an input file is answered at once, not
/// waited on or read without end (/dev/null stands for the devices: a regression would read
/// /dev/zero until memory ran out).
#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_named_as_input_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for input in [fifo.as_path(), Path::new("/dev/null")] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_edl"))
            .args(["verify", "--png"])
            .arg(input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = common::wait_within(&mut child, Duration::from_secs(10));
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let status = status.unwrap_or_else(|| panic!("{}: still reading", input.display()));
        assert!(!status.success(), "{}", input.display());
    }
}

/// An admin call answered `busy` with a short Retry-After (a change signed with keys read
/// just before another process rotated them, D142: nothing kept) is sent again after the
/// wait, instead of handing the clerk a refusal to retry by hand (D161).
#[test]
fn a_short_busy_answer_to_an_admin_call_is_waited_out_and_sent_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    let url = common::fake_authority(2, move |_, s| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            let body = r#"{"error":"busy","message":"try again in a moment"}"#;
            let headers = "content-type: application/json\r\nretry-after: 1\r\n";
            common::write_answer(s, "429 Too Many Requests", headers, body.as_bytes());
        } else {
            let headers = "content-type: application/json\r\n";
            common::write_answer(s, "200 OK", headers, br#"{"reviews":[]}"#);
        }
    });
    let out = edl(&["authority", "admin", "--authority", &url, "review", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

/// A long wait, or a lock-out, is the clerk's to decide: refused at once, sent once.
#[test]
fn a_long_busy_answer_or_a_lock_out_is_not_waited_out() {
    for (body, headers) in [
        (
            r#"{"error":"busy","message":"peak hours"}"#,
            "retry-after: 60\r\n",
        ),
        (
            r#"{"error":"locked_out","message":"too many tries"}"#,
            "retry-after: 1\r\n",
        ),
    ] {
        let url = answering("429 Too Many Requests", headers, body.to_owned(), 1);
        let out = edl(&["authority", "admin", "--authority", &url, "review", "list"]);
        assert_ne!(out.status.code(), Some(0), "{}", printed(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refused ("),
            "{}",
            printed(&out)
        );
    }
}

/// A fake authority whose review list holds photo 7, and which answers the request for
/// the photo on file beside it (`GET /admin/reviews/7/on-file`) with `status` and `body`.
fn reviews_then(status: &'static str, body: &'static str) -> String {
    common::fake_authority(2, move |request, s| {
        let json = "content-type: application/json\r\n";
        if request.starts_with(b"GET /admin/reviews/7/on-file ") {
            common::write_answer(s, status, json, body.as_bytes());
        } else {
            let photo = edl_core::wire::Base64(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
            let list = serde_json::json!({"reviews": [{"photo_id": 7, "photo": photo}]});
            common::write_answer(s, "200 OK", json, list.to_string().as_bytes());
        }
    })
}

/// `review list --save-photos` leaves out the photo on file only when the authority says
/// there is none (`unknown_id`: a first application) or the review was decided meanwhile
/// (`invalid_state`). A bare 404 (an authority from before D223, a proxy, a wrong prefix)
/// is an error: the reviewer would take a photo change for a first application and
/// approve a face with nothing to compare it with (the review of D224, AQ-5: before, it
/// printed the list without a word).
#[test]
fn a_photo_on_file_is_left_out_only_when_the_authority_says_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let save = |url: &str| {
        let saved = dir.path().join(url.rsplit(':').next().unwrap());
        std::fs::create_dir(&saved).unwrap();
        let out = edl(&[
            "authority",
            "admin",
            "--authority",
            url,
            "review",
            "list",
            "--save-photos",
            saved.to_str().unwrap(),
        ]);
        (out, saved)
    };
    let (out, saved) = save(&reviews_then(
        "404 Not Found",
        r#"{"error":"unknown_id","message":"unknown photo"}"#,
    ));
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert!(saved.join("7.jpg").is_file());
    assert!(
        !printed(&out).contains("on_file_saved_to"),
        "{}",
        printed(&out)
    );

    let (out, _) = save(&reviews_then(
        "409 Conflict",
        r#"{"error":"invalid_state","message":"the photo was already decided"}"#,
    ));
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));

    let (out, _) = save(&reviews_then("404 Not Found", ""));
    assert_ne!(out.status.code(), Some(0), "{}", printed(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("404"), "{stderr}");
}
