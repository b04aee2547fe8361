//! Back-off for transient failures, honouring the authority's Retry-After.

use std::future::Future;
use std::time::Duration;

use super::NetError;

/// Attempts before giving up.
const ATTEMPTS: u32 = 3;
/// First pause; doubles each time.
const BASE: Duration = Duration::from_millis(400);
/// A Retry-After longer than this is handed to the app instead of waited out.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Runs `attempt` until it succeeds, fails for good, or [`ATTEMPTS`] are spent.
/// Offline and busy answers are transient; everything else is final at once.
pub(crate) async fn with_backoff<T, F, Fut>(mut attempt: F) -> Result<T, NetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, NetError>>,
{
    let mut n = 0;
    loop {
        n += 1;
        let wait = match attempt().await {
            Err(NetError::Offline) if n < ATTEMPTS => BASE * 2u32.pow(n - 1),
            Err(NetError::Busy { retry_after_secs })
                if n < ATTEMPTS && Duration::from_secs(retry_after_secs) <= MAX_WAIT =>
            {
                Duration::from_secs(retry_after_secs)
            }
            other => return other,
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::wire::ErrorCode;

    #[tokio::test(start_paused = true)]
    async fn offline_is_retried_then_reported() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = with_backoff(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(NetError::Offline)
        })
        .await;
        assert_eq!(r, Err(NetError::Offline));
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }

    #[tokio::test(start_paused = true)]
    async fn busy_waits_the_retry_after_then_succeeds() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let r = with_backoff(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(NetError::Busy {
                    retry_after_secs: 7,
                }),
                _ => Ok(5),
            }
        })
        .await;
        assert_eq!(r, Ok(5));
        assert!(start.elapsed() >= Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_goes_to_the_app_and_final_errors_are_not_retried() {
        let r: Result<(), _> = with_backoff(|| async {
            Err(NetError::Busy {
                retry_after_secs: 600,
            })
        })
        .await;
        assert_eq!(
            r,
            Err(NetError::Busy {
                retry_after_secs: 600
            })
        );
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = with_backoff(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(NetError::Rejected {
                code: ErrorCode::InvalidState,
            })
        })
        .await;
        assert_eq!(
            r,
            Err(NetError::Rejected {
                code: ErrorCode::InvalidState
            })
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
