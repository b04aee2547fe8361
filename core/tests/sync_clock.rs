//! The clock a wallet learns from a sync: read from one exchange, not from the whole sync
//! (twenty-sixth review, AG-F1), from the answered attempt's own send (twenty-ninth review,
//! AJ-F3) to its answer's head, not its body's end (twenty-eighth review, AI-F1). Fake
//! authorities on loopback stand for one that held a request to its deadline, one whose
//! answer downloads slowly and one that refuses a request as stale; their clock is the
//! real one.
#![cfg(feature = "wallet")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edl_core::licence::fixtures::{SAMPLE_LICENCE_NUMBER, sample_licence};
use edl_core::sample;
use edl_core::wallet::store::{SoftwareKeyStore, StoreError, WalletStore};
use edl_core::wallet::{Enrolment, SyncState, Wallet};
use edl_core::wire::{Base64, ElicenceState, ElicenceUpdate, SyncResponse, TrustListResponse};
use zeroize::Zeroizing;

fn real_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn keys() -> SoftwareKeyStore {
    SoftwareKeyStore::from_key_bytes(Zeroizing::new([0x5A; 32]))
}

/// A wallet enrolled with the sample device key at `url`, holding the sample trust list and
/// a clock in step (offset 0), as `enrol` leaves it.
fn enrolled_wallet(dir: &Path, url: &str) {
    let s = sample::issued(real_now() as u32 - 600);
    let store = WalletStore::open(dir.join("wallet.db"), &keys()).unwrap();
    store
        .write(|tx| {
            tx.put_secret("device_key", &sample::DEVICE_SEED)?;
            tx.put_doc(
                "enrolment",
                &Enrolment {
                    authority_url: url.into(),
                    account_id: 7,
                    licence_number: SAMPLE_LICENCE_NUMBER.into(),
                },
            )?;
            tx.put_doc("trust_list", &Base64(s.trust.encode()))?;
            tx.put_doc("sync_state", &SyncState::default())?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

/// A wallet enrolled at `url` syncs, takes the sample e-licence, and then reads the
/// authority's clock (the real one) within a second.
async fn syncs_with_its_clock_in_step(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    enrolled_wallet(dir.path(), url);
    let wallet = Wallet::open(dir.path(), &keys()).unwrap();
    let report = wallet.sync().await.unwrap();
    assert!(report.elicence_changed);
    let off = wallet.now().unwrap() as i64 - real_now() as i64;
    assert!(
        off.abs() <= 1,
        "the wallet's clock is {off} s off after the sync"
    );
}

/// The first sync answer: the licence and the sample e-licence, stamped now.
fn first_page() -> SyncResponse {
    let issued = real_now() as u32 - 600;
    let s = sample::issued(issued);
    SyncResponse {
        cursor: 3,
        more: false,
        server_time: real_now(),
        licence: Some(sample_licence(edl_core::verify::china_date(real_now()))),
        photo: None,
        elicence: Some(ElicenceUpdate {
            elicence_id: sample::ELICENCE_ID,
            state: ElicenceState::Active,
            credential: Some(Base64(s.holder.credential().encode().unwrap())),
            totp_seed: Some(Base64(sample::TOTP_SEED.to_vec())),
            issued_at: u64::from(issued),
            expires_at: u64::from(issued) + 72 * 3600,
        }),
        application: None,
        reviews: Vec::new(),
        messages: Vec::new(),
        verifications: Vec::new(),
    }
}

/// A fake authority whose clock is the real one: its first request is held `hold`, then
/// answered 503 `unavailable` with Retry-After 1 (the authority's answer at its request
/// deadline, D181); every later one is answered at once with the page.
fn slow_then_quick(hold: Duration) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().take(4) {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0; 16384];
            let _ = s.read(&mut buf);
            let (status, body) = if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                std::thread::sleep(hold);
                (
                    "503 Service Unavailable",
                    br#"{"error":"unavailable","message":"deadline","retry_after":1}"#.to_vec(),
                )
            } else {
                ("200 OK", serde_json::to_vec(&first_page()).unwrap())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (url, count)
}

/// A sync whose first attempt was held 8 s leaves the wallet's clock in step with the
/// authority's. Before, the offset was the last page's time against the middle of the
/// whole sync: about 4 s fast, so a fifth of every 30 s window's codes were refused
/// offline and online (as wrong codes, counted against the licence's budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_whose_first_attempt_was_slow_leaves_the_wallet_clock_in_step() {
    let (url, count) = slow_then_quick(Duration::from_secs(8));
    syncs_with_its_clock_in_step(&url).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one attempt held, one retry"
    );
}

/// One answer of [`scripted`]: its status line, its body made as it starts answering (so
/// a `server_time` in it is stamped then), and how long its body takes to arrive after its
/// head (sent a little at a time, as over a slow link).
struct Scripted {
    status: &'static str,
    body: fn() -> Vec<u8>,
    over: Duration,
}

/// A fake authority whose clock is the real one, answering its requests in turn with
/// `answers`: each head at once, each body over its `over`.
fn scripted(answers: Vec<Scripted>) -> String {
    const PIECES: u32 = 40;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for (s, answer) in listener.incoming().zip(answers) {
            let Ok(mut s) = s else { continue };
            let mut buf = vec![0; 16384];
            let _ = s.read(&mut buf);
            let body = (answer.body)();
            let head = format!(
                "HTTP/1.1 {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.status,
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.flush();
            for piece in body.chunks(body.len().div_ceil(PIECES as usize)) {
                std::thread::sleep(answer.over / PIECES);
                let _ = s.write_all(piece);
            }
        }
    });
    url
}

fn page_body() -> Vec<u8> {
    serde_json::to_vec(&first_page()).unwrap()
}

/// A sync page whose body took 6 s to arrive leaves the wallet's clock in step. The
/// authority stamps its time as it starts answering; before, the reading was timed to the
/// body's end, so the wallet's clock was set about 3 s slow (twenty-eighth review, AI-F1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_page_whose_body_arrives_slowly_leaves_the_wallet_clock_in_step() {
    let url = scripted(vec![Scripted {
        status: "200 OK",
        body: page_body,
        over: Duration::from_secs(6),
    }]);
    syncs_with_its_clock_in_step(&url).await;
}

/// The authority's trust list, stamped now (what a wallet whose signed request was refused
/// as stale reads the authority's time from).
fn trust_list_body() -> Vec<u8> {
    let s = sample::issued(real_now() as u32 - 600);
    serde_json::to_vec(&TrustListResponse {
        trust_list: Base64(s.trust.encode()),
        keys: Vec::new(),
        signer_kid: 1,
        signature: Base64(vec![0; 64]),
        server_time: real_now(),
    })
    .unwrap()
}

/// A sync whose first signed request was refused as stale, and whose trust list (read for
/// the authority's time) then took 6 s to arrive, leaves the wallet's clock in step: the
/// reading is the answered attempt's alone. Before, it ran from the refused attempt's send
/// to the signed-again attempt's answer, and set the wallet about 3 s fast (twenty-ninth
/// review, AJ-F3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_signed_again_after_a_slow_trust_list_leaves_the_wallet_clock_in_step() {
    fn stale() -> Vec<u8> {
        br#"{"error":"stale_request","message":"the request's time is too far from the server's"}"#
            .to_vec()
    }
    let url = scripted(vec![
        Scripted {
            status: "401 Unauthorized",
            body: stale,
            over: Duration::ZERO,
        },
        Scripted {
            status: "200 OK",
            body: trust_list_body,
            over: Duration::from_secs(6),
        },
        Scripted {
            status: "200 OK",
            body: page_body,
            over: Duration::ZERO,
        },
    ]);
    syncs_with_its_clock_in_step(&url).await;
}
