//! The status list reads every e-licence's status, and anyone may ask for it. The third
//! hostile review (C-F2) found it read and signed once per request, on the request
//! threads: at 2 million e-licences two anonymous clients asking in a loop held
//! `/v1/trust-list` up by a third of a second, and six held `/healthz` by half a second.
//! Now one list is built at a time, off the request threads, and the requests that arrive
//! while it is built share the next one. Each answer still holds every change committed
//! before its request arrived (D71).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::pausing;
use common::*;
use edl_core::credential::{Audience, StatusList};
use edl_core::present::Form;
use edl_core::verify::{Policy, Rejection, verify_offline_with_status};
use edl_core::wire::paths;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The status list as a public client fetches it.
async fn status_list(t: &TestServer) -> Vec<u8> {
    let resp = t
        .http
        .get(format!("{}{}", t.url, paths::STATUS_LIST))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_asked_for_at_once_share_one_build_and_hold_every_earlier_change() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    let (driver, wallet) = t.issued_wallet(&number(1)).await;
    let trust = t.trust().await;
    let shown = wallet
        .holder()
        .present(Form::Offline, Audience::Enforcement, t.now(), 30)
        .unwrap()
        .payload;
    let status_of = |list: &[u8]| {
        let list = StatusList::verify(list, &trust).expect("signed by the issuer");
        verify_offline_with_status(
            &shown,
            &trust,
            Some(&list),
            t.now(),
            &Policy::new(Audience::Enforcement),
        )
        .map(|v| v.status)
    };

    // A first list, its read held.
    store.hold_next_status_read();
    let first = {
        let t = t.clone();
        tokio::spawn(async move { status_list(&t).await })
    };
    store.paused().await;
    // The e-licence is suspended, and then twenty more lists are asked for.
    t.admin_ok(
        Method::PUT,
        &paths::with_id(paths::STATUS, driver),
        json!({"status": "D"}),
    )
    .await;
    let later: Vec<_> = (0..20)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { status_list(&t).await })
        })
        .collect();
    // All twenty are waiting for the first build (they arrive in milliseconds).
    tokio::time::sleep(Duration::from_secs(1)).await;
    store.release();

    // The first was asked for before the suspension; it is a good list all the same.
    StatusList::verify(&first.await.unwrap(), &trust).expect("signed by the issuer");
    for answer in later {
        assert_eq!(
            status_of(&answer.await.unwrap()),
            Err(Rejection::ElicenceSuspended),
            "a list asked for after the suspension"
        );
    }
    assert_eq!(
        store.status_reads(),
        2,
        "the held read, and one more for the twenty that waited"
    );
    // A request after all that is answered from a new read: nothing is kept for later.
    status_list(&t).await;
    assert_eq!(store.status_reads(), 3);
}

/// A client that hangs up while its list is being built does not stop that build, and so
/// cannot start a second one beside it (fresh-eyes review of D136: the build was dropped
/// with the request, its blocking read and signing ran on unseen, and the next request
/// started another; clients that hung up one after another multiplied the work).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_build_does_not_let_a_second_build_run_beside_it() {
    let (t, store) = pausing::start().await;
    let t = Arc::new(t);
    t.issued_wallet(&number(2)).await;
    store.hold_next_status_read();
    let first = {
        let t = t.clone();
        tokio::spawn(async move { status_list(&t).await })
    };
    store.paused().await;
    // The client goes away; the server sees its connection close.
    first.abort();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = {
        let t = t.clone();
        tokio::spawn(async move { status_list(&t).await })
    };
    // While the first build is held, the second request waits for it: no other build.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "a second build ran beside the first");
    assert_eq!(store.status_reads(), 1);
    store.release();
    let trust = t.trust().await;
    StatusList::verify(&second.await.unwrap(), &trust).expect("signed by the issuer");
    assert_eq!(store.status_reads(), 2);
}
