//! The one async runtime of the core.
//!
//! Foreign callers (Kotlin coroutines, Swift tasks, Python asyncio) poll the wallet's
//! futures themselves, but reqwest needs a tokio reactor. So network work is spawned on a
//! runtime the core owns and the caller awaits its join handle, which any executor can
//! poll. Nothing else in the crate builds a runtime. The app's code never runs on its two
//! workers: the wallet's observer and upload progress are called on the wallet's own
//! delivery thread (`wallet::events`, D132), the identity check on the blocking pool.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            // Network waits, not computation: two workers keep a phone's cores free.
            .worker_threads(2)
            .thread_name("edl-io")
            .enable_io()
            .enable_time()
            .build()
            .expect("the OS lets a process start threads")
    })
}

/// Runs `task` on the core's runtime and waits for it from whatever executor polls the
/// returned future. A panic inside the task comes back as `None`.
pub(crate) async fn run<F>(task: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(task).await.map_err(panicked).ok()
}

/// Runs the CPU-bound or blocking `work` on the runtime's blocking pool, so neither the
/// caller's executor nor an I/O worker waits on it. A panic inside comes back as `None`.
/// (Only the wallet has such work: the photo checks, the identity provider's callback.)
#[cfg(feature = "wallet")]
pub(crate) async fn blocking<F, T>(work: F) -> Option<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    runtime().spawn_blocking(work).await.map_err(panicked).ok()
}

/// A task that did not finish is a fault of the library: logged as an error, without the
/// panic's text (it could quote data the task held).
fn panicked(e: tokio::task::JoinError) {
    tracing::error!(panicked = e.is_panic(), "a task of the core did not finish");
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_future_polled_outside_tokio_still_reaches_the_reactor() {
        // A plain executor (no tokio context), as a foreign language would poll it.
        let out = futures_lite_block_on(super::run(async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            7
        }));
        assert_eq!(out, Some(7));
    }

    /// A minimal block_on that is not tokio's, so the test proves the runtime hop.
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        use std::sync::Arc;
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
}
