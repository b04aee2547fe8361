//! The app's callbacks (`WalletObserver`, `UploadProgress`) and the core's own work: a
//! callback that blocks, or that calls back into the wallet and waits for it, must hold up
//! nothing but later callbacks (third hostile review, F1-cb). Real server on loopback, real
//! wallets; the blocking is real too (a callback parked on a condition variable).

use crate::common;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::time::Duration;

use common::*;
use edl_core::net::OnlineVerifier;
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{
    PhotoSource, TestIdentityProvider, UploadProgress, UploadStage, Wallet, WalletEvent,
    WalletObserver,
};
use edl_core::wire::{ApplicationPhase, paths};
use reqwest::Method;
use serde_json::json;

fn keys() -> SoftwareKeyStore {
    SoftwareKeyStore::from_key_bytes(zeroize::Zeroizing::new([41; 32]))
}

/// A wallet in `dir` enrolled and applied for `n`: issued when the driver has a photo on
/// file, otherwise awaiting one.
async fn applied_wallet(t: &TestServer, dir: &Path, n: &str, photo_on_file: bool) -> (u64, Wallet) {
    let driver = t.create_driver(n, photo_on_file).await;
    let code = t.activation_code(driver).await;
    let wallet = Wallet::open(dir, &keys()).unwrap();
    wallet.enrol(&t.url, n, &code).await.unwrap();
    let view = wallet
        .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
        .await
        .unwrap();
    let expected = if photo_on_file {
        ApplicationPhase::Issued
    } else {
        ApplicationPhase::AwaitingPhoto
    };
    assert_eq!(view.phase, expected);
    (driver, wallet)
}

async fn violation(t: &TestServer, driver: u64) {
    t.admin_ok(
        Method::POST,
        &paths::with_id(paths::VIOLATIONS, driver),
        json!({"date": "2026-11-20", "place": "北京市朝阳区建国路", "act": "违反禁令标志指示", "points": 1, "fine_yuan": 200}),
    )
    .await;
}

/// A gate the blocked callbacks wait at; opened by the test, and on drop, so a failing
/// test never leaves them parked.
#[derive(Default)]
struct Gate(Mutex<bool>, Condvar);

impl Gate {
    fn wait(&self) {
        let open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        drop(self.1.wait_while(open, |o| !*o));
    }

    fn open(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.1.notify_all();
    }
}

struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Blocks in its first callback until the gate opens, after saying on which thread it
/// blocks; records every event.
struct BlockingObserver {
    gate: Arc<Gate>,
    entered: Mutex<Option<mpsc::Sender<String>>>,
    events: Mutex<Vec<String>>,
}

impl BlockingObserver {
    fn new(gate: &Arc<Gate>, entered: &mpsc::Sender<String>) -> Arc<Self> {
        Arc::new(BlockingObserver {
            gate: gate.clone(),
            entered: Mutex::new(Some(entered.clone())),
            events: Mutex::new(Vec::new()),
        })
    }

    /// The first call says where it runs and waits at the gate.
    fn block_once(&self) {
        let first = self.entered.lock().unwrap().take();
        if let Some(entered) = first {
            let here = std::thread::current().name().unwrap_or("").to_owned();
            entered.send(here).unwrap();
            self.gate.wait();
        }
    }
}

impl WalletObserver for BlockingObserver {
    fn on_event(&self, event: WalletEvent) {
        self.block_once();
        let kind = format!("{event:?}");
        let kind = kind.split(['(', ' ', '{']).next().unwrap_or("").to_owned();
        self.events.lock().unwrap().push(kind);
    }
}

struct BlockingProgress {
    observer: Arc<BlockingObserver>,
    stages: Mutex<Vec<UploadStage>>,
}

impl UploadProgress for BlockingProgress {
    fn on_stage(&self, stage: UploadStage) {
        self.observer.block_once();
        self.stages.lock().unwrap().push(stage);
    }
}

/// The reviewer's finding: callbacks ran on the core's two runtime workers, so two that
/// blocked (an observer, a progress bar) held every call of the process, here an
/// unrelated online check and another sync of the same wallet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_observer_or_progress_callback_holds_up_no_sync_and_no_online_check() {
    let t = TestServer::start().await;
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (driver, issued) = applied_wallet(&t, one.path(), &number(7101), true).await;
    let (_, awaiting) = applied_wallet(&t, two.path(), &number(7102), false).await;
    violation(&t, driver).await;

    let gate = Arc::new(Gate::default());
    let _opened_at_the_end = OpenOnDrop(gate.clone());
    let (entered, blocked) = mpsc::channel();
    let observer = BlockingObserver::new(&gate, &entered);
    issued.set_observer(Some(observer.clone()));
    let progress = Arc::new(BlockingProgress {
        observer: BlockingObserver::new(&gate, &entered),
        stages: Mutex::new(Vec::new()),
    });

    // A sync whose first event blocks, and an upload whose first stage blocks.
    let sync = tokio::spawn({
        let w = issued.clone();
        async move { w.sync().await }
    });
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/photos/clean.jpg"
    ))
    .unwrap();
    let upload = tokio::spawn({
        let (w, p) = (awaiting.clone(), progress.clone());
        async move {
            w.submit_photo(
                photo,
                PhotoSource::Camera,
                Some(p as Arc<dyn UploadProgress>),
            )
            .await
        }
    });
    for _ in 0..2 {
        let thread = blocked
            .recv_timeout(Duration::from_secs(60))
            .expect("both callbacks are called");
        assert!(
            !thread.starts_with("edl-io"),
            "a callback ran on a runtime worker ({thread})"
        );
    }

    // Both callbacks are parked. The library's own work goes on.
    let online = OnlineVerifier::new(&t.url, "any-key").unwrap();
    let list = tokio::time::timeout(Duration::from_secs(5), online.trust_list()).await;
    assert!(
        matches!(list, Ok(Ok(_))),
        "an unrelated online call waited for the blocked callbacks"
    );
    let again = tokio::time::timeout(Duration::from_secs(5), issued.sync()).await;
    assert!(
        matches!(again, Ok(Ok(_))),
        "another sync of the wallet waited for its blocked observer"
    );

    // Released, the calls whose callbacks they were complete, their callbacks in order.
    gate.open();
    let synced = tokio::time::timeout(Duration::from_secs(10), sync)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(synced.licence_changed && synced.messages > 0, "{synced:?}");
    let events = observer.events.lock().unwrap().clone();
    assert!(
        events.contains(&"LicenceChanged".to_owned()) && events.contains(&"NewMessages".to_owned()),
        "{events:?}"
    );
    let accepted = tokio::time::timeout(Duration::from_secs(30), upload)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(accepted.application.phase, ApplicationPhase::UnderReview);
    assert_eq!(
        *progress.stages.lock().unwrap(),
        [
            UploadStage::Checked,
            UploadStage::Normalised,
            UploadStage::Uploading,
            UploadStage::Uploaded
        ],
        "every stage, in order, before the upload returned"
    );
    issued.set_observer(None);
}

/// Polls `f` to completion on this thread with no runtime of any kind, as a foreign
/// language's blocking call (`runBlocking`, `asyncio.run`) would.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// On `NewMessages`, syncs its wallet again from inside the callback and waits for it,
/// after waiting (a little) for the other observer to be in its callback too.
struct SyncingObserver {
    wallet: Mutex<Option<Wallet>>,
    both_in: Arc<(Mutex<u32>, Condvar)>,
    done: mpsc::Sender<Result<(), String>>,
}

impl WalletObserver for SyncingObserver {
    fn on_event(&self, event: WalletEvent) {
        if !matches!(event, WalletEvent::NewMessages(_)) {
            return;
        }
        let Some(wallet) = self.wallet.lock().unwrap().take() else {
            return;
        };
        let (count, cvar) = &*self.both_in;
        let mut n = count.lock().unwrap();
        *n += 1;
        cvar.notify_all();
        drop(
            cvar.wait_timeout_while(n, Duration::from_secs(2), |n| *n < 2)
                .unwrap(),
        );
        let nested = block_on(wallet.sync());
        let _ = self
            .done
            .send(nested.map(|_| ()).map_err(|e| format!("{e:?}")));
    }
}

/// The reviewer's deadlock: an observer that runs `wallet.sync()` and blocks on it, with
/// two syncs in flight, stalled the process for good (both workers waited in callbacks for
/// syncs that needed a worker).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_that_syncs_its_wallet_and_waits_for_it_does_not_deadlock() {
    let t = TestServer::start().await;
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let both_in = Arc::new((Mutex::new(0), Condvar::new()));
    let (done, nested) = mpsc::channel();
    let mut wallets = Vec::new();
    for (dir, n) in [(one.path(), 7201), (two.path(), 7202)] {
        let (driver, w) = applied_wallet(&t, dir, &number(n), true).await;
        violation(&t, driver).await;
        w.set_observer(Some(Arc::new(SyncingObserver {
            wallet: Mutex::new(Some(w.clone())),
            both_in: both_in.clone(),
            done: done.clone(),
        })));
        wallets.push(w);
    }
    let syncs: Vec<_> = wallets
        .iter()
        .map(|w| {
            let w = w.clone();
            tokio::spawn(async move { w.sync().await })
        })
        .collect();
    for _ in 0..2 {
        let inner = nested
            .recv_timeout(Duration::from_secs(20))
            .expect("the sync made inside the callback completes");
        assert_eq!(inner, Ok(()));
    }
    for s in syncs {
        let report = tokio::time::timeout(Duration::from_secs(20), s)
            .await
            .expect("the outer sync completes")
            .unwrap()
            .unwrap();
        assert!(report.messages > 0);
    }
    for w in &wallets {
        w.set_observer(None);
    }
}
