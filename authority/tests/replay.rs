//! An online code verifies once (issue 13, finding 3): the verifier that scanned it may
//! repeat its scan for a few seconds and gets the answer again without a second log entry;
//! any other verifier gets `already_used`, and the driver's log is not spammed.

use crate::common;

use common::*;
use edl_core::credential::Audience;
use edl_core::wire::CheckOutcome;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_code_is_spent_by_its_first_verification() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    t.sync(&mut wallet).await;
    let rental = t.verifier("租车行", "rental").await;
    let insurer = t.verifier("保险公司", "insurer").await;

    let qr = wallet.online_qr(Audience::Business, t.now());
    let (s, first, _) = t.verify(&rental, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    // The same verifier's repeated scan (a double tap, a retry after a lost answer).
    t.clock.advance(2);
    let (s, again, _) = t.verify(&rental, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["view"], &again["in_force"]),
        (&first["view"], &first["in_force"])
    );
    // Anyone else: the code is spent, whatever they try and however often.
    for _ in 0..40 {
        let (s, v, _) = t.verify(&insurer, qr.clone()).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["error"], "already_used");
    }
    let log = t.sync(&mut wallet).await.verifications;
    let verified = log
        .iter()
        .filter(|e| e.outcome == CheckOutcome::Verified)
        .count();
    assert_eq!(verified, 1, "{log:?}");
    assert!(
        log.len() <= 2,
        "the driver's log was spammed: {} entries",
        log.len()
    );
}

/// The barcode carries the online QR's own code (the same e-licence, window and digits),
/// so it is the same code, not another one (second hostile review, R1): once the QR is
/// spent, its barcode is spent for everyone but the spender's repeat, and the reverse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_barcode_of_a_spent_qr_is_spent_too() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(2)).await;
    let police = t.verifier("交警", "enforcement").await;
    let rental = t.verifier("租车行", "rental").await;
    let insurer = t.verifier("保险公司", "insurer").await;

    // The QR spent, then its barcode shown to another verifier.
    let (s, v, _) = t
        .verify(&police, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = t
        .verify(&rental, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    // The spender scanning the barcode too is its repeat: answered, not logged again.
    let (s, v, _) = t
        .verify(&police, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The other way round, in the next window: the barcode spent, then its QR.
    t.clock.advance(30); // the test wallet's period
    let (s, v, _) = t
        .verify(&rental, wallet.barcode(Audience::Business, t.now()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = t
        .verify(&insurer, wallet.online_qr(Audience::Business, t.now()))
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );

    let log = t.logged(&mut wallet).await;
    let verified = log
        .iter()
        .filter(|(_, outcome)| *outcome == CheckOutcome::Verified)
        .count();
    assert_eq!(verified, 2, "{log:?}");
}

/// The spender's resend of a code whose windows ended meanwhile (its answer lost, the
/// resend after the request's deadline and Retry-After, D183) is its repeat, not a wrong
/// code: answered again within `guard::REPEAT_SECS` of the spend, after a restart too, with
/// no failure counted and no "wrong code" entry in the driver's log. Anyone else sending
/// that code, or the spender once the repeat window has ended, gets the wrong-code answer
/// an expired code always got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spender_s_resend_after_the_code_s_windows_ended_is_its_repeat() {
    let mut t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(3)).await;
    let police = t.verifier("交警", "enforcement").await;
    let insurer = t.verifier("保险公司", "insurer").await;

    // Spent 20 s into a window: accepted until the end of the next one, 40 s later.
    let spent_at = t.late_in_next_window();
    let qr = wallet.online_qr(Audience::Enforcement, spent_at);
    let manual = wallet.manual(Audience::Enforcement, spent_at);
    let (s, first, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let (s, first_manual, _) = t.verify(&police, manual.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first_manual}");

    // 45 s later: both codes' windows have ended, the repeat window has not.
    t.clock.set(spent_at + 45);
    let (s, again, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["view"], &again["in_force"]),
        (&first["view"], &first["in_force"])
    );
    let (s, again, _) = t.verify(&police, manual.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    // Anyone else: an expired code, as before.
    let (s, v, _) = t.verify(&insurer, qr.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("code_rejected")),
        "{v}"
    );
    // The spend is the database's: answered after a restart too.
    t.restart().await;
    t.clock.set(spent_at + 60);
    let (s, again, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    // Past the repeat window the code is only an expired one.
    t.clock.set(spent_at + 61);
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("code_rejected")),
        "{v}"
    );

    let log = t.logged(&mut wallet).await;
    let of = |outcome: CheckOutcome, verifier: &str| {
        log.iter()
            .filter(|(v, o)| v == verifier && *o == outcome)
            .count()
    };
    // Two spends, each logged once; the police's only wrong code is the last, late one.
    assert_eq!(of(CheckOutcome::Verified, "交警"), 2, "{log:?}");
    assert_eq!(of(CheckOutcome::WrongCode, "交警"), 1, "{log:?}");
    assert_eq!(of(CheckOutcome::WrongCode, "保险公司"), 1, "{log:?}");
}

/// QR codes of two periods whose windows start at the same second are two codes, each
/// spent on its own: the app may show a slower-rotating QR after a faster one (the
/// period is the app's choice, `present(.., period)`). Before, they shared one spent-code
/// key: the second was refused 409 to another verifier, and taken as the first
/// verifier's repeat, answered without an entry in the driver's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_of_different_periods_are_spent_each_on_its_own() {
    let t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(4)).await;
    let police = t.verifier("交警", "enforcement").await;
    let insurer = t.verifier("保险公司", "insurer").await;

    // A second at which a 30 s window and a 60 s window both start.
    let start = (t.now() / 60 + 1) * 60;
    t.clock.set(start + 1);
    let at_30 = wallet.online_qr_of_period(Audience::Business, start + 1, 30);
    let at_60 = wallet.online_qr_of_period(Audience::Business, start + 1, 60);
    let at_60_again = wallet.online_qr_of_period(Audience::Business, start + 1, 60);
    assert_eq!(at_60, at_60_again);
    let (s, v, _) = t.verify(&police, at_30).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = t.verify(&insurer, at_60).await;
    assert_eq!(s, StatusCode::OK, "another period's code is not spent: {v}");
    // The police scanning the 60 s code too: spent already, by the insurer.
    let (s, v, _) = t.verify(&police, at_60_again).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );

    assert_eq!(t.verified_by(&mut wallet).await, ["交警", "保险公司"]);
}

/// A code shown to a verifier in time and refused there as spent by another (409
/// `already_used`, in this process's memory or by the database's word) is answered as
/// what it was when its verifier sends it again after its windows ended (its answer lost):
/// still 409, not a wrong code counted against that verifier and logged for the driver
/// (eighteenth review, Y-F1; D189).
/// Before, D188 remembered the codes shown in time only when this verifier's claim was
/// made here; a code refused here as spent left no mark, so its resend was "a wrong code".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_refused_as_spent_in_time_is_still_spent_when_its_verifier_sends_it_again() {
    let mut t = TestServer::start().await;
    let (_, mut wallet) = t.issued_wallet(&number(1)).await;
    let insurer = t.verifier("保险公司", "insurer").await;
    let police = t.verifier("交警", "enforcement").await;

    // Shown 20 s into a window: accepted until the end of the next one, 40 s later.
    let shown = t.late_in_next_window();
    let qr = wallet.online_qr(Audience::Business, shown);
    // Someone else (a copy of the screen) spends it first.
    let (s, v, _) = t.verify(&insurer, qr.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The police are shown it in time: spent, and told so.
    t.clock.set(shown + 1);
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_used")),
        "{v}"
    );
    // Its answer lost, the police app sends it again after the deadline and Retry-After.
    t.clock.set(shown + 45);
    let (s, v, _) = t.verify(&police, qr.clone()).await;
    let qr_resend = (s, v["error"].as_str().map(str::to_owned));
    // And a code the database refused as spent (after a restart, or through another
    // process) alike: the manual code of a later window.
    let shown = t.late_in_next_window();
    let manual = wallet.manual(Audience::Business, shown);
    let (s, v, _) = t.verify(&insurer, manual.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.restart().await;
    t.clock.set(shown + 1);
    let (s, v, _) = t.verify(&police, manual.clone()).await;
    assert_eq!(v["error"], "already_used", "{s}: {v}");
    t.clock.set(shown + 45);
    let (s, v, _) = t.verify(&police, manual).await;
    let manual_resend = (s, v["error"].as_str().map(str::to_owned));

    let log = t.logged(&mut wallet).await;
    let conflict = (StatusCode::CONFLICT, Some("already_used".to_owned()));
    assert_eq!(
        (&qr_resend, &manual_resend),
        (&conflict, &conflict),
        "the resends of checks refused as spent (QR, refused in memory; manual code, \
         refused by the database); the driver's log: {log:?}"
    );
    assert!(
        log.iter()
            .all(|(_, outcome)| *outcome != CheckOutcome::WrongCode),
        "the driver's log says a verifier that sent the right code sent a wrong one: {log:?}"
    );
}
