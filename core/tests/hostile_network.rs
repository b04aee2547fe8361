//! The core's HTTP client against a hostile network (issue 13, finding 6): it must not follow
//! a redirect with the verifier's API key, and must not talk plain HTTP to a remote host.
//! Real client, real sockets on loopback.
#![cfg(feature = "net")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use edl_core::net::{NetError, OnlineVerifier, OnlineVerifyError, allow_plain_http};

/// A listener that records every request it gets, for `for_how_long`.
fn recorder(for_how_long: Duration) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let end = Instant::now() + for_how_long;
        while Instant::now() < end {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut buf = vec![0; 8192];
                    let n = s.read(&mut buf).unwrap_or(0);
                    let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                    let _ = s.write_all(b"HTTP/1.1 500 Nope\r\ncontent-length: 0\r\n\r\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (port, rx)
}

/// A listener that answers every request with a redirect to `location`.
fn redirector(location: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().take(4) {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0; 8192];
            let _ = s.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
            );
            let _ = s.write_all(answer.as_bytes());
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_redirect_is_not_followed_and_the_api_key_goes_nowhere_else() {
    let (evil, requests) = recorder(Duration::from_secs(5));
    let port = redirector(format!("http://127.0.0.1:{evil}/v1/verify"));
    let v = OnlineVerifier::new(&format!("http://127.0.0.1:{port}"), "secret-api-key").unwrap();
    let answer = v.verify_manual("110101199003071234", "1 642 926").await;
    assert!(
        matches!(answer, Err(OnlineVerifyError::Net(NetError::Protocol(_)))),
        "{answer:?}"
    );
    let leaked = requests.recv_timeout(Duration::from_millis(500));
    assert!(leaked.is_err(), "the redirect was followed: {leaked:?}");
}

#[test]
fn plain_http_only_to_loopback_unless_the_app_opts_in() {
    for remote in [
        "http://authority.example",
        "http://10.0.0.1:8088",
        "HTTP://gov.example/",
    ] {
        assert_eq!(
            OnlineVerifier::new(remote, "k").unwrap_err(),
            NetError::InsecureUrl,
            "{remote}"
        );
    }
    for local in [
        "http://127.0.0.1:1",
        "http://localhost:8088",
        "http://[::1]:1",
        "https://authority.example",
    ] {
        assert!(OnlineVerifier::new(local, "k").is_ok(), "{local}");
    }
    allow_plain_http(true);
    let opted_in = OnlineVerifier::new("http://authority.example", "k");
    allow_plain_http(false);
    assert!(opted_in.is_ok());
    assert_eq!(
        OnlineVerifier::new("http://authority.example", "k").unwrap_err(),
        NetError::InsecureUrl
    );
}

/// A listener that answers every request 200 with a JSON body that never ends (chunked,
/// bounded here by `for_how_long`), and counts the bytes it got to send.
fn endless_json(for_how_long: Duration) -> (u16, mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Some(Ok(mut s)) = listener.incoming().next() else {
            return;
        };
        let mut buf = vec![0; 8192];
        let _ = s.read(&mut buf);
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, " ".repeat(1 << 16));
        let (end, mut sent) = (Instant::now() + for_how_long, 0);
        while Instant::now() < end && s.write_all(chunk.as_bytes()).is_ok() {
            sent += 1 << 16;
        }
        let _ = tx.send(sent);
    });
    (port, rx)
}

/// An answer is read only up to a bound (the second hostile review's R13): a broken or
/// hostile authority sending a body without end gets a typed refusal, not the phone's
/// memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_answer_without_end_is_refused_once_it_passes_the_bound() {
    let (port, sent) = endless_json(Duration::from_secs(20));
    let v = OnlineVerifier::new(&format!("http://127.0.0.1:{port}"), "k").unwrap();
    let answer = v.trust_list().await;
    assert_eq!(
        answer.unwrap_err(),
        NetError::Protocol("an answer larger than expected")
    );
    let sent = sent.recv_timeout(Duration::from_secs(25)).unwrap();
    assert!(sent < 64 << 20, "{sent} bytes were read");
}

/// A fake authority on loopback: `POST /v1/verify` gets `answer`, a photo fetch gets
/// `photo`.
fn answering(answer: String, photo: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().take(8) {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let (kind, body) = if buf[..n].starts_with(b"GET /v1/photos/") {
                ("image/jpeg", photo.clone())
            } else {
                ("application/json", answer.clone().into_bytes())
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    port
}

/// An online answer whose licence text holds terminal escapes or a line break is refused
/// like any other unusable answer, as the wallet refuses such a licence in a sync (the
/// CLI review: a hostile authority or proxy wrote "in force: yes" over the counter's
/// screen where the answer said no). The same answer with a plain name is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn an_answer_whose_licence_text_would_not_show_as_itself_is_refused() {
    use edl_core::licence::fixtures::sample_with_name;
    use edl_core::wire::{LiveView, StatusLabel, VerifyResponse};
    let today = time::macros::date!(2026 - 06 - 01);
    let photo = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];
    let digest: [u8; 32] = edl_core::crypto::sha256(&photo);
    for name in [
        "张三",
        "张三\x1b[4A\r  in force: yes",
        "张三\n  in force: yes",
        "\u{202E}三张",
    ] {
        let mut licence = sample_with_name(today, name);
        licence.main.photo_digest = digest;
        let answer = VerifyResponse {
            elicence_id: edl_core::credential::ElicenceId(1),
            checked_at: 1,
            in_force: false,
            not_in_force_reason: None,
            status_colour: licence.main.status.colour(),
            status_label: StatusLabel::default(),
            photo_digest: digest,
            view: LiveView::Enforcement { licence },
            photo_url: String::new(),
            photo_grant: String::new(),
        };
        let port = answering(serde_json::to_string(&answer).unwrap(), photo.clone());
        let v = OnlineVerifier::new(&format!("http://127.0.0.1:{port}"), "key").unwrap();
        let got = v.verify_manual("110101199003071234", "1 642 926").await;
        if name == "张三" {
            assert!(got.is_ok(), "the plain answer: {got:?}");
        } else {
            assert!(
                matches!(
                    got,
                    Err(OnlineVerifyError::Net(NetError::Protocol(
                        "the answer's text fails validation"
                    )))
                ),
                "{name:?}: {got:?}"
            );
        }
    }
}

/// A manual check's answer about another licence than the one typed is refused, whole in
/// the enforcement view and masked in the business view, as the QR's and the barcode's
/// answers about another e-licence are (twenty-sixth review, AG-F3: a hostile authority
/// or proxy put another person's pages and photo beside the number the driver gave).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_manual_check_answered_about_another_licence_is_refused() {
    use edl_core::licence::fixtures::sample_with_name;
    use edl_core::wire::{BusinessQualification, LiveView, StatusLabel, VerifyResponse};
    let today = time::macros::date!(2026 - 06 - 01);
    let photo = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];
    let digest: [u8; 32] = edl_core::crypto::sha256(&photo);
    let typed = "110101199003071234";
    let answer = |number: &str, business: bool| {
        let mut licence = sample_with_name(today, "李四");
        licence.main.photo_digest = digest;
        licence.main.licence_number = number.to_owned();
        let view = if business {
            LiveView::Business {
                qualification: BusinessQualification {
                    name: licence.main.name.clone(),
                    masked_number: licence.masked_number(),
                    classes: licence.main.classes,
                    valid_from: licence.main.valid_from,
                    valid_until: licence.main.valid_until,
                    status: licence.main.status,
                    photo_digest: digest,
                },
            }
        } else {
            LiveView::Enforcement {
                licence: licence.clone(),
            }
        };
        VerifyResponse {
            elicence_id: edl_core::credential::ElicenceId(1),
            checked_at: 1,
            in_force: true,
            not_in_force_reason: None,
            status_colour: licence.main.status.colour(),
            status_label: StatusLabel::default(),
            photo_digest: digest,
            view,
            photo_url: String::new(),
            photo_grant: String::new(),
        }
    };
    for (number, business, taken) in [
        (typed, false, true),
        ("110101198001010011", false, false),
        (typed, true, true),
        ("110101198001010011", true, false),
    ] {
        let port = answering(
            serde_json::to_string(&answer(number, business)).unwrap(),
            photo.clone(),
        );
        let v = OnlineVerifier::new(&format!("http://127.0.0.1:{port}"), "key").unwrap();
        let got = v.verify_manual(typed, "1 642 926").await;
        if taken {
            assert!(got.is_ok(), "{number} business={business}: {got:?}");
        } else {
            assert!(
                matches!(
                    got,
                    Err(OnlineVerifyError::Net(NetError::Protocol(
                        "an answer about another e-licence"
                    )))
                ),
                "{number} business={business}: {got:?}"
            );
        }
    }
}
