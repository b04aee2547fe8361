//! What the wallet tells an app as it changes: one event per kind of change, handed to the
//! observer the app set, after the change is stored; and the one thread that calls the
//! app's observer and upload progress (D132).
//!
//! The app's callbacks never run on the core's runtime: a callback that blocks, or that
//! calls the wallet and waits for it, would hold one of its two workers, and two such
//! callbacks every call in the process (the third hostile review's F1-cb). Each wallet has
//! one delivery thread instead, started with its first callback and ended once the wallet
//! and its tickers are dropped. It calls one callback at a time, in the order they were
//! queued; a call of the wallet returns once its own callbacks have run, but never waits
//! behind another's callback (see [`ObserverSlot::delivered`]), so a callback that blocks
//! delays only the callbacks after it, and one that calls into the wallet cannot deadlock.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Poll, Waker};

use super::photo_upload::{UploadProgress, UploadStage};

use crate::licence::StatusColour;
use crate::present::Presentation;
use crate::wire::{ApplicationView, ReviewResult};

/// A change the app may show at once.
#[derive(Debug, Clone)]
pub enum WalletEvent {
    /// A new or re-signed e-licence arrived, or the current one stopped verifying.
    ElicenceChanged,
    /// The licence data changed (status, points, record, classes); `colour` is how the
    /// status is shown now.
    LicenceChanged {
        /// The status colour after the change.
        colour: Option<StatusColour>,
    },
    /// The application moved on (applied, photo uploaded, reviewed, issued, stopped).
    ApplicationChanged(ApplicationView),
    /// A photo review result arrived.
    ReviewResult(ReviewResult),
    /// This many new messages arrived.
    NewMessages(u32),
    /// This many new entries arrived in the verification log.
    NewVerifications(u32),
    /// A QR rotation tick: the presentation of the window that has just begun.
    Rotation(Presentation),
}

/// Receives the wallet's events. Called on the wallet's delivery thread (never the main
/// thread, never the core's runtime), one event at a time and in order, after the change
/// is stored: a call of the wallet returns once its own events have been handed over.
/// Return quickly (hand the event to the UI thread); a callback that blocks delays only
/// the callbacks after it, and it may call the wallet, even wait for it. Nothing it does
/// can undo or fail the change.
pub trait WalletObserver: Send + Sync {
    /// One change.
    fn on_event(&self, event: WalletEvent);
}

type Observer = Arc<RwLock<Option<Arc<dyn WalletObserver>>>>;

/// One call of the app's code, queued for the delivery thread.
enum Callback {
    Event(WalletEvent),
    Progress(Arc<dyn UploadProgress>, UploadStage),
}

/// The observer a wallet and its rotation tickers share (empty until the app sets one),
/// and the queue to the thread that calls it.
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Arc<Slot>);

#[derive(Default)]
struct Slot {
    observer: Observer,
    delivery: Arc<Delivery>,
    /// The sending end; the thread ends once it is dropped with the last clone of the slot
    /// and the callbacks queued before have run.
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    sender: Option<Sender<(u64, Callback)>>,
    next: u64,
}

/// Where the delivery thread is, for the calls waiting for their callbacks.
#[derive(Default)]
struct Delivery(Mutex<Progress>);

#[derive(Default)]
struct Progress {
    /// Every callback numbered below this one has run.
    done_below: u64,
    /// The callback running now.
    running: Option<u64>,
    /// The thread has ended (or never started): nothing more will run.
    ended: bool,
    waiting: Vec<Waker>,
}

impl Delivery {
    fn update(&self, change: impl FnOnce(&mut Progress)) {
        let mut p = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut p);
        for w in p.waiting.drain(..) {
            w.wake();
        }
    }
}

/// The numbers of the callbacks one call of the wallet queued, in order.
#[derive(Default, Debug)]
pub(crate) struct Receipts(Mutex<Vec<u64>>);

impl Receipts {
    pub(crate) fn add(&self, n: Option<u64>) {
        if let Some(n) = n {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(n);
        }
    }

    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ObserverSlot {
    pub(crate) fn set(&self, observer: Option<Arc<dyn WalletObserver>>) {
        *self
            .0
            .observer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = observer;
    }

    /// Queues `event` for the observer, if there is one; its number in the queue. The
    /// observer is read again when the event is handed over, so one cleared meanwhile
    /// hears nothing more.
    pub(crate) fn emit(&self, event: WalletEvent) -> Option<u64> {
        let observed = self
            .0
            .observer
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        observed
            .then(|| self.queue(Callback::Event(event)))
            .flatten()
    }

    /// Queues `stage` for an upload's progress callback; its number in the queue.
    pub(crate) fn progress(&self, to: &Arc<dyn UploadProgress>, stage: UploadStage) -> Option<u64> {
        self.queue(Callback::Progress(to.clone(), stage))
    }

    fn queue(&self, callback: Callback) -> Option<u64> {
        let mut q = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.sender.is_none() {
            let (sender, receiver) = channel();
            let (observer, delivery) = (self.0.observer.clone(), self.0.delivery.clone());
            let started = std::thread::Builder::new()
                .name("edl-callbacks".into())
                .spawn(move || deliver(&receiver, &observer, &delivery));
            if started.is_err() {
                // The store holds the change; only the app's notice of it is lost.
                tracing::error!("no thread for the app's callbacks; a callback is dropped");
                return None;
            }
            q.sender = Some(sender);
        }
        let n = q.next;
        q.next += 1;
        let sent = q
            .sender
            .as_ref()
            .is_some_and(|s| s.send((n, callback)).is_ok());
        sent.then_some(n)
    }

    /// Waits (without holding a thread) until the callbacks of `receipts` have run, or
    /// until the delivery thread is found running a callback that is not one of them: a
    /// call never waits behind another's callback, which may be blocked, or be the very
    /// callback that made this call and waits for it. The callbacks left over then run
    /// after it, in order.
    pub(crate) async fn delivered(&self, receipts: &Receipts) {
        let mine = receipts.take();
        let Some(&last) = mine.iter().max() else {
            return;
        };
        let delivery = &self.0.delivery;
        std::future::poll_fn(|cx| {
            let mut p = delivery.0.lock().unwrap_or_else(PoisonError::into_inner);
            let behind_another = p.running.is_some_and(|r| !mine.contains(&r));
            if p.done_below > last || p.ended || behind_another {
                return Poll::Ready(());
            }
            p.waiting.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

/// The delivery thread: each callback in turn until the wallet is gone. A panic in one is
/// logged (without its text, which could quote the app's data) and the next runs.
fn deliver(receiver: &Receiver<(u64, Callback)>, observer: &Observer, delivery: &Delivery) {
    for (n, callback) in receiver {
        delivery.update(|p| p.running = Some(n));
        let ran = catch_unwind(AssertUnwindSafe(|| match callback {
            Callback::Event(event) => {
                let o = observer
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Some(o) = o {
                    o.on_event(event);
                }
            }
            Callback::Progress(to, stage) => to.on_stage(stage),
        }));
        if ran.is_err() {
            tracing::error!("an app callback panicked");
        }
        delivery.update(|p| {
            p.running = None;
            p.done_below = n + 1;
        });
    }
    delivery.update(|p| p.ended = true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    struct Recorder(Mutex<mpsc::Sender<(u32, String)>>);

    impl WalletObserver for Recorder {
        fn on_event(&self, event: WalletEvent) {
            let WalletEvent::NewMessages(n) = event else {
                return;
            };
            assert_ne!(n, 1, "a callback that panics");
            let here = std::thread::current().name().unwrap_or("").to_owned();
            self.0.lock().unwrap().send((n, here)).unwrap();
        }
    }

    #[test]
    fn callbacks_run_in_order_on_one_thread_that_outlives_a_panic_and_ends_with_the_wallet() {
        let (tx, rx) = mpsc::channel();
        let slot = ObserverSlot::default();
        slot.set(Some(Arc::new(Recorder(Mutex::new(tx)))));
        for n in 1..=4 {
            slot.emit(WalletEvent::NewMessages(n));
        }
        for n in 2..=4 {
            let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(got, (n, "edl-callbacks".to_owned()));
        }
        let thread = Arc::downgrade(&slot.0.delivery);
        drop(slot);
        let deadline = Instant::now() + Duration::from_secs(5);
        while thread.upgrade().is_some() {
            assert!(Instant::now() < deadline, "the delivery thread did not end");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
