//! Delivery of the written-out records to the app's logger: which logger is set and at
//! what level, the one thread for the process that calls it (`edl-log`), the bounded queue
//! to that thread, and the hand-over when the logger is replaced.
//!
//! The app's logger never runs on the thread that logs, which may be one of the core
//! runtime's two workers: a logger that blocks (Logcat under contention, a Python handler
//! waiting for a lock) would hold every call of the process (D134, D141). The queue never
//! makes the logging thread wait: when it is full the record is dropped and counted, and
//! the next record that gets through tells the app how many were lost. Replacing or
//! removing the logger waits, a bounded time, for the records made before.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError, channel, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{LogLevel, Logger};

/// Records waiting for the app's logger at most; beyond, records are dropped and counted.
/// A driver's whole flow, enrolment to an online check, makes 12 records at `Trace` of
/// about 80 bytes each (measured through the Python suite): room for many wallets' bursts,
/// and about 100 KB held for a logger that stalls.
const QUEUE_BOUND: usize = 1024;

/// How long [`set_logger`](super::set_logger) waits at most for the records made before it.
pub(super) const HANDOVER_WAIT: Duration = Duration::from_secs(1);

/// The target of the notice of dropped records: the logging module's, the one the app
/// sees, rather than this file's.
const NOTICE_TARGET: &str = "edl_ffi::logging";

/// The app's logger, `None` while none is set.
static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
/// The app's maximum level as a [`LogLevel::rank`]; 0 while no logger is set. Written
/// under `LOGGER`'s write lock with the logger, so that two calls of
/// [`set_logger`](super::set_logger) at once leave a logger with its own level.
static MAX_RANK: AtomicU8 = AtomicU8::new(0);

/// Whether the app takes records at `level` (no: no logger is set).
pub(super) fn wanted(level: LogLevel) -> bool {
    level.rank() <= MAX_RANK.load(Ordering::Relaxed)
}

/// Makes `logger` the one the records from now on are sent to, at `max_level` and above
/// (`None`: they are dropped). When it replaces a logger, returns once the records sent to
/// that one have been handed to it, waiting at most [`HANDOVER_WAIT`], and not at all on
/// the delivery thread (the logger replacing itself would wait for itself).
pub(super) fn replace(logger: Option<Arc<dyn Logger>>, max_level: LogLevel) {
    let rank = if logger.is_some() {
        max_level.rank()
    } else {
        0
    };
    let old = {
        // The write lock waits for a record on its way to the old logger (`send`).
        let mut current = LOGGER.write().unwrap_or_else(PoisonError::into_inner);
        MAX_RANK.store(rank, Ordering::Relaxed);
        std::mem::replace(&mut *current, logger)
    };
    let replaced = old.is_some();
    // Out of the lock: the old logger's drop is the app's code, and may log.
    drop(old);
    if replaced && !in_logger() {
        // A logger that keeps up is done long before; one that is blocked or slower holds
        // the app's thread this long at most, and may still be called afterwards.
        let _ = flush(HANDOVER_WAIT);
    }
}

/// One record on its way to the app's logger.
struct Entry {
    /// The logger that was set when the record was made.
    logger: Arc<dyn Logger>,
    level: LogLevel,
    target: String,
    message: String,
    /// Records dropped (the queue was full) since the last record that got through, told
    /// to the logger before this one; 0 when none were, or when the app's level leaves
    /// out warnings.
    dropped_before: u64,
}

/// What the delivery thread is handed.
enum Item {
    Record(Entry),
    /// Answered once every item queued before has been handled.
    Flush(Sender<()>),
}

/// Records dropped since the last record that got into the queue.
static DROPPED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set for good on the delivery thread: every record made there was made while the
    /// app's logger ran (it called back into the library), and is dropped rather than sent
    /// round again.
    static IN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

/// Whether this is the delivery thread, where the app's logger runs.
pub(super) fn in_logger() -> bool {
    IN_LOGGER.with(Cell::get)
}

/// The queue to the delivery thread, once started.
static QUEUE: OnceLock<SyncSender<Item>> = OnceLock::new();

/// The queue to the delivery thread, which is started with the first record; `None` when
/// the thread could not be started (the record is then dropped and counted, and the next
/// record tries again).
fn queue() -> Option<&'static SyncSender<Item>> {
    static START: Mutex<()> = Mutex::new(());
    if let Some(q) = QUEUE.get() {
        return Some(q);
    }
    let _one_at_a_time = START.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(q) = QUEUE.get() {
        return Some(q);
    }
    let (sender, receiver) = sync_channel(QUEUE_BOUND);
    // The thread is never joined: it waits, holding no logger, for the process's next
    // record, and ends with the process (what is still queued then is not delivered).
    std::thread::Builder::new()
        .name("edl-log".into())
        .spawn(move || deliver(&receiver))
        .ok()?;
    Some(QUEUE.get_or_init(|| sender))
}

/// Queues a record, already written out, for the logger set now (none: it is dropped),
/// without waiting: a full queue (the logger is slower than the library logs, or blocked)
/// drops it and counts it for the next record that gets through.
pub(super) fn send(level: LogLevel, target: String, message: String) {
    // The logger is read and the record queued under one read guard: `replace` takes the
    // write lock to replace the logger, so it waits for a record on its way to the old
    // one, and the flush it queues next comes after every such record. Nothing under the
    // guard waits or runs the app's code (nor logs, which would take the guard again): the
    // logger in `LOGGER` keeps a reference, so the one dropped here is never the last.
    let current = LOGGER.read().unwrap_or_else(PoisonError::into_inner);
    let Some(logger) = current.clone() else {
        return;
    };
    let Some(queue) = queue() else {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    let entry = Entry {
        logger,
        level,
        target,
        message,
        dropped_before: if wanted(LogLevel::Warn) { dropped } else { 0 },
    };
    if let Err(
        TrySendError::Full(Item::Record(entry)) | TrySendError::Disconnected(Item::Record(entry)),
    ) = queue.try_send(Item::Record(entry))
    {
        DROPPED.fetch_add(entry.dropped_before + 1, Ordering::Relaxed);
    }
    drop(current);
}

/// The delivery thread: each record in turn, to the logger it was made for. A logger that
/// fails or panics has nowhere to report it: that record is dropped and the next one runs.
fn deliver(receiver: &Receiver<Item>) {
    IN_LOGGER.with(|f| f.set(true));
    for item in receiver {
        match item {
            Item::Record(entry) => {
                // The logger's last reference may go with the entry: its drop is the
                // app's code too.
                let _ = catch_unwind(AssertUnwindSafe(|| hand_over(entry)));
            }
            Item::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// One record to its logger, after the notice of the records dropped before it.
fn hand_over(entry: Entry) {
    let Entry {
        logger,
        level,
        target,
        message,
        dropped_before,
    } = entry;
    if dropped_before > 0 {
        // A count, no personal data. Caught on its own, so that its panic does not take
        // the record with it.
        let notice = format!("{dropped_before} log records dropped: the app's logger is too slow");
        let _ = catch_unwind(AssertUnwindSafe(|| {
            logger.log(LogLevel::Warn, NOTICE_TARGET.to_owned(), notice)
        }));
    }
    let _ = logger.log(level, target, message);
}

/// Waits until every record queued before has been handed to its logger, at most
/// `timeout`; whether they were (also when no record was ever queued).
pub(super) fn flush(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let Some(queue) = QUEUE.get() else {
        return true;
    };
    let (done, handled) = channel();
    let mut item = Item::Flush(done);
    // The queue may be full behind a slow logger: a place is waited for, not taken from a
    // record.
    loop {
        match queue.try_send(item) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                item = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return false,
        }
    }
    handled
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, mpsc};

    use crate::error::EdlError;
    use crate::logging::set_logger;
    use crate::logging::tests::{WAIT, take_turn};

    const MINE: &str = module_path!();
    /// The target of the delivery thread's own notice.
    const NOTICE: &str = NOTICE_TARGET;

    /// A logger that holds each of this module's records until it is opened, and keeps
    /// them with the delivery thread's notices.
    struct Gate {
        entered: Mutex<mpsc::Sender<()>>,
        open: Mutex<bool>,
        opened: Condvar,
        got: Mutex<Vec<(LogLevel, String)>>,
    }

    impl Gate {
        /// A closed gate, and where it says a record has reached it.
        fn closed() -> (Arc<Self>, mpsc::Receiver<()>) {
            let (entered, inside) = mpsc::channel();
            let gate = Gate {
                entered: Mutex::new(entered),
                open: Mutex::new(false),
                opened: Condvar::new(),
                got: Mutex::default(),
            };
            (Arc::new(gate), inside)
        }

        fn open(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }

        fn messages(&self) -> Vec<String> {
            let got = self.got.lock().unwrap();
            got.iter().map(|(_, m)| m.clone()).collect()
        }
    }

    impl Logger for Gate {
        fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), EdlError> {
            if target == MINE {
                let _ = self.entered.lock().unwrap().send(());
                let open = self.open.lock().unwrap();
                // Bounded, so that a failing test ends instead of hanging.
                let _ = self
                    .opened
                    .wait_timeout_while(open, Duration::from_secs(30), |open| !*open)
                    .unwrap();
            } else if target != NOTICE {
                return Ok(());
            }
            self.got.lock().unwrap().push((level, message));
            Ok(())
        }
    }

    /// Logs `records` on a thread of its own; whether it was done within [`WAIT`].
    fn log_elsewhere(records: impl Iterator<Item = String> + Send + 'static) -> bool {
        let (done, returned) = mpsc::channel();
        std::thread::spawn(move || {
            for r in records {
                tracing::info!("{r}");
            }
            let _ = done.send(());
        });
        returned.recv_timeout(WAIT).is_ok()
    }

    #[test]
    fn a_logger_that_blocks_does_not_hold_the_thread_that_logs() {
        let _turn = take_turn();
        let (gate, inside) = Gate::closed();
        set_logger(Some(gate.clone()), LogLevel::Info);
        let returned = log_elsewhere((0..10).map(|n| format!("record {n}")));
        let reached = inside.recv_timeout(WAIT).is_ok();
        gate.open();
        assert!(
            returned,
            "the thread that logged was held by the blocked logger"
        );
        assert!(reached, "the logger was not called");
        set_logger(None, LogLevel::Info);
        let expected: Vec<_> = (0..10).map(|n| format!("record {n}")).collect();
        assert_eq!(gate.messages(), expected);
    }

    #[test]
    fn records_beyond_the_bound_behind_a_blocked_logger_are_dropped_and_counted() {
        let _turn = take_turn();
        let (gate, inside) = Gate::closed();
        set_logger(Some(gate.clone()), LogLevel::Info);
        tracing::info!("hold");
        // The delivery thread is in the logger: the queue fills from empty.
        let reached = inside.recv_timeout(WAIT).is_ok();
        let flood = QUEUE_BOUND + 100;
        let returned = log_elsewhere((0..flood).map(|n| format!("flood {n}")));
        gate.open();
        assert!(reached, "the logger was not called");
        assert!(
            returned,
            "the thread that logged was held by the full queue"
        );
        assert!(flush(WAIT), "the records were not delivered");
        tracing::info!("after");
        assert!(flush(WAIT), "the records were not delivered");
        set_logger(None, LogLevel::Info);

        let got = gate.got.lock().unwrap().clone();
        assert_eq!(got.first().map(|(_, m)| m.as_str()), Some("hold"));
        assert_eq!(got.last().map(|(_, m)| m.as_str()), Some("after"));
        let flooded: Vec<_> = got
            .iter()
            .filter(|(_, m)| m.starts_with("flood "))
            .map(|(_, m)| m.clone())
            .collect();
        // In order, from the first; as many as the queue held (other tests' records may
        // have taken a few places).
        let kept = flooded.len();
        assert_eq!(
            flooded,
            (0..kept).map(|n| format!("flood {n}")).collect::<Vec<_>>()
        );
        assert!(
            (QUEUE_BOUND / 2..=QUEUE_BOUND).contains(&kept),
            "{kept} records delivered"
        );
        // Then the notice (more dropped records than ours when other tests logged too),
        // before the next record of ours.
        let last_flood = got.iter().rposition(|(_, m)| m.starts_with("flood "));
        let notices: Vec<_> = got
            .iter()
            .enumerate()
            .filter(|(_, (_, m))| m.ends_with(" log records dropped: the app's logger is too slow"))
            .collect();
        assert!(
            !notices.is_empty(),
            "no notice: {:?}",
            &got[got.len() - 3..]
        );
        let mut told = 0;
        for (at, (level, message)) in notices {
            assert!(Some(at) > last_flood && at < got.len() - 1);
            assert_eq!(*level, LogLevel::Warn);
            told += message.split(' ').next().unwrap().parse::<usize>().unwrap();
        }
        assert!(
            told >= flood - kept,
            "{told} told, {} dropped",
            flood - kept
        );
    }

    struct Panics(Mutex<Vec<String>>);

    impl Logger for Panics {
        fn log(&self, _: LogLevel, target: String, message: String) -> Result<(), EdlError> {
            if target != MINE {
                return Ok(());
            }
            assert_ne!(message, "boom", "a logger that panics");
            self.0.lock().unwrap().push(message);
            Ok(())
        }
    }

    #[test]
    fn a_logger_that_panics_gets_the_records_after() {
        let _turn = take_turn();
        let logger = Arc::new(Panics(Mutex::default()));
        set_logger(Some(logger.clone()), LogLevel::Info);
        for r in ["before", "boom", "after"] {
            tracing::info!("{r}");
        }
        assert!(flush(WAIT), "the records were not delivered");
        tracing::info!("later");
        assert!(flush(WAIT), "the records were not delivered");
        set_logger(None, LogLevel::Info);
        assert_eq!(*logger.0.lock().unwrap(), ["before", "after", "later"]);
    }

    /// Keeps this module's records, each after `pause`.
    struct Slow {
        pause: Duration,
        got: Mutex<Vec<String>>,
    }

    impl Slow {
        fn new(pause: Duration) -> Arc<Self> {
            Arc::new(Slow {
                pause,
                got: Mutex::default(),
            })
        }
    }

    impl Logger for Slow {
        fn log(&self, _: LogLevel, target: String, message: String) -> Result<(), EdlError> {
            if target == MINE {
                std::thread::sleep(self.pause);
                self.got.lock().unwrap().push(message);
            }
            Ok(())
        }
    }

    #[test]
    fn removing_the_logger_returns_once_the_records_made_before_reached_it() {
        let _turn = take_turn();
        let slow = Slow::new(Duration::from_millis(10));
        set_logger(Some(slow.clone()), LogLevel::Info);
        let made = Instant::now();
        for n in 0..20 {
            tracing::info!("record {n}");
        }
        // 20 records at 10 ms each were not handed over as they were made.
        assert!(made.elapsed() < Duration::from_millis(100));
        set_logger(None, LogLevel::Info);
        let expected: Vec<_> = (0..20).map(|n| format!("record {n}")).collect();
        assert_eq!(*slow.got.lock().unwrap(), expected);
    }

    #[test]
    fn a_blocked_logger_holds_set_logger_a_bounded_time_and_still_gets_its_records() {
        let _turn = take_turn();
        let (gate, inside) = Gate::closed();
        set_logger(Some(gate.clone()), LogLevel::Info);
        tracing::info!("held");
        let reached = inside.recv_timeout(WAIT).is_ok();
        tracing::info!("queued");
        let next = Slow::new(Duration::ZERO);
        let asked = Instant::now();
        set_logger(Some(next.clone()), LogLevel::Info);
        let waited = asked.elapsed();
        tracing::info!("for the next logger");
        gate.open();
        set_logger(None, LogLevel::Info);
        assert!(reached, "the logger was not called");
        assert!(
            (HANDOVER_WAIT..HANDOVER_WAIT + Duration::from_secs(2)).contains(&waited),
            "set_logger waited {waited:?}"
        );
        // Each record to the logger that was set when it was made.
        assert_eq!(gate.messages(), ["held", "queued"]);
        assert_eq!(*next.got.lock().unwrap(), ["for the next logger"]);
    }

    /// A field whose `Debug` says when it began, then takes `RACE_PAUSE`: a record with it
    /// is still being written out while another thread goes on.
    struct SlowDebug(mpsc::Sender<()>);

    const RACE_PAUSE: Duration = Duration::from_millis(300);

    impl std::fmt::Debug for SlowDebug {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let _ = self.0.send(());
            std::thread::sleep(RACE_PAUSE);
            f.write_str("slow")
        }
    }

    #[test]
    fn a_record_being_made_when_the_logger_is_removed_never_reaches_it_afterwards() {
        let _turn = take_turn();
        let slow = Slow::new(Duration::ZERO);
        set_logger(Some(slow.clone()), LogLevel::Info);
        let (began, writing) = mpsc::channel();
        let making = std::thread::spawn(move || {
            tracing::info!(v = ?SlowDebug(began), "racing");
        });
        let raced = writing.recv_timeout(WAIT).is_ok();
        // The record is being written out, its logger perhaps already read.
        set_logger(None, LogLevel::Info);
        let at_return = slow.got.lock().unwrap().clone();
        making.join().unwrap();
        assert!(flush(WAIT), "the records were not delivered");
        assert!(raced, "the record was not made");
        assert_eq!(
            at_return,
            *slow.got.lock().unwrap(),
            "called after set_logger(None) returned"
        );
    }

    /// Logs as it is dropped: the app's code, run where its last reference goes.
    struct LogsWhenDropped;

    impl Logger for LogsWhenDropped {
        fn log(&self, _: LogLevel, _: String, _: String) -> Result<(), EdlError> {
            Ok(())
        }
    }

    impl Drop for LogsWhenDropped {
        fn drop(&mut self) {
            tracing::info!("dropped");
        }
    }

    #[test]
    fn a_record_made_as_set_logger_drops_the_old_logger_goes_to_the_new_one() {
        let _turn = take_turn();
        let next = Slow::new(Duration::ZERO);
        let (done, returned) = mpsc::channel();
        let handed = next.clone();
        std::thread::spawn(move || {
            set_logger(Some(Arc::new(LogsWhenDropped)), LogLevel::Info);
            // Its only reference goes inside this call.
            set_logger(Some(handed), LogLevel::Info);
            let _ = done.send(());
        });
        assert!(
            returned.recv_timeout(WAIT).is_ok(),
            "set_logger did not return"
        );
        set_logger(None, LogLevel::Info);
        assert_eq!(*next.got.lock().unwrap(), ["dropped"]);
    }

    /// Replaces itself with `next` at its first record of this module's.
    struct Hands {
        next: Arc<Slow>,
        took: Mutex<Option<Duration>>,
    }

    impl Logger for Hands {
        fn log(&self, _: LogLevel, target: String, _: String) -> Result<(), EdlError> {
            let mut took = self.took.lock().unwrap();
            if target == MINE && took.is_none() {
                let asked = Instant::now();
                set_logger(Some(self.next.clone()), LogLevel::Info);
                *took = Some(asked.elapsed());
            }
            Ok(())
        }
    }

    #[test]
    fn a_logger_that_replaces_itself_does_not_wait_for_itself() {
        let _turn = take_turn();
        let next = Slow::new(Duration::ZERO);
        let hands = Arc::new(Hands {
            next: next.clone(),
            took: Mutex::default(),
        });
        set_logger(Some(hands.clone()), LogLevel::Info);
        tracing::info!("first");
        assert!(flush(WAIT), "the records were not delivered");
        tracing::info!("second");
        set_logger(None, LogLevel::Info);
        let took = hands.took.lock().unwrap().expect("the logger was called");
        assert!(
            took < HANDOVER_WAIT / 2,
            "set_logger took {took:?} inside the logger"
        );
        assert_eq!(*next.got.lock().unwrap(), ["second"]);
    }
}
