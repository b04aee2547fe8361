//! A phone whose clock runs a little fast still verifies online at a window's edge
//! (issue 13, finding 12; D77): the authority accepts the next window during the last
//! `FAST_CLOCK_SKEW` seconds of the current one, never earlier, never two windows ahead,
//! and the code stays single-use (D68) across the edge.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::verify::FAST_CLOCK_SKEW;
use reqwest::StatusCode;

const PERIOD: u64 = 30;

/// Seconds until the server's current 30-second window ends.
fn to_edge(now: u64) -> u64 {
    PERIOD - now % PERIOD
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_a_few_seconds_fast_verifies_at_the_window_edge() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    t.sync(&mut wallet).await;
    let police = t.verifier("交警", "enforcement").await;
    let rental = t.verifier("租车行", "rental").await;
    let fast = u64::from(FAST_CLOCK_SKEW);

    // The server is `fast - 1` seconds before its window's end; the phone, `fast`
    // seconds ahead, already shows the next window's codes.
    t.clock.advance(to_edge(t.now()) + PERIOD - (fast - 1));
    let phone = t.now() + fast;
    assert_ne!(
        phone / PERIOD,
        t.now() / PERIOD,
        "the phone is a window ahead"
    );
    for body in [
        wallet.online_qr(Audience::Enforcement, phone),
        wallet.barcode(Audience::Enforcement, phone),
        wallet.manual(Audience::Enforcement, phone),
    ] {
        let (s, v, _) = t.verify(&police, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    // Single use across the edge: once the server's clock reaches that window, the code
    // verified early is spent for anyone else.
    let early = wallet.online_qr(Audience::Business, phone);
    let (s, v, _) = t.verify(&rental, early.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.clock.advance(fast);
    assert_eq!(t.now() / PERIOD, phone / PERIOD);
    let (s, v, _) = t.verify(&police, early).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "already_used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_window_is_refused_earlier_and_two_windows_ahead_always() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    t.sync(&mut wallet).await;
    let police = t.verifier("交警", "enforcement").await;
    let fast = u64::from(FAST_CLOCK_SKEW);

    // One second more than the bound before the edge: the next window is refused.
    t.clock.advance(to_edge(t.now()) + PERIOD - (fast + 1));
    let next = (t.now() / PERIOD + 1) * PERIOD;
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Enforcement, next))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "code_rejected");

    // At the edge itself, a code two windows ahead is refused.
    t.clock.advance(fast);
    let two_ahead = (t.now() / PERIOD + 2) * PERIOD;
    let (s, v, _) = t
        .verify(&police, wallet.manual(Audience::Enforcement, two_ahead))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");

    // A slow phone's previous window is still accepted, as before.
    let previous = t.now() - PERIOD;
    let (s, v, _) = t
        .verify(&police, wallet.barcode(Audience::Enforcement, previous))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
