//! A loopback TCP proxy in front of a test server that can hold back the answer to the
//! next wallet sync until released: two syncs made to overlap for certain; or lose the
//! answer to the next request of a kind on its way back, as a phone's network does; or
//! drop every request of a kind before it reaches the server, as a network that went away
//! does, or answer it itself, as a broken or hostile middlebox does. Used by
//! `wallet_resilience.rs` and `wallet_races.rs`.

use std::sync::Arc;
use std::time::Duration;

/// A loopback TCP proxy in front of the server that can hold back the answer to the next
/// sync request until released: a deterministic way to make two syncs overlap.
pub struct HoldingProxy {
    /// The proxy's URL, to enrol the wallet with.
    pub url: String,
    /// Set: the next sync request's answer is held.
    pub armed: Arc<std::sync::atomic::AtomicBool>,
    /// Lets the held answer go.
    pub release: Arc<tokio::sync::Notify>,
    /// Set: the answer to the next request that starts with these bytes is lost (its
    /// connection closed when the answer comes back); the request reaches the server.
    pub lose: Arc<std::sync::Mutex<Option<&'static [u8]>>>,
    /// Set: every request that starts with these bytes never reaches the server, until
    /// cleared: the proxy sends the answer given, if any, and closes the connection.
    pub cut: Arc<std::sync::Mutex<Option<Cut>>>,
}

/// Requests that start with these bytes never reach the server; the proxy answers them
/// with the text given, if any.
type Cut = (&'static [u8], Option<&'static str>);

impl HoldingProxy {
    /// Starts the proxy in front of `server`.
    pub async fn start(server: std::net::SocketAddr) -> HoldingProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let armed = Arc::new(AtomicBool::new(false));
        let release = Arc::new(tokio::sync::Notify::new());
        let lose = Arc::new(std::sync::Mutex::new(None::<&'static [u8]>));
        let cut: Arc<std::sync::Mutex<Option<Cut>>> = Arc::new(std::sync::Mutex::new(None));
        let (a, r, l, c) = (armed.clone(), release.clone(), lose.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = tokio::net::TcpStream::connect(server).await.unwrap();
                let (mut cr, cw) = client.into_split();
                // Both directions may write to the client: the server's answers, and the
                // proxy's own for a cut request.
                let cw = Arc::new(tokio::sync::Mutex::new(cw));
                let answers = cw.clone();
                let (mut ur, mut uw) = upstream.into_split();
                let hold = Arc::new(AtomicBool::new(false));
                let lost = Arc::new(AtomicBool::new(false));
                let (armed, held, to_lose, losing, to_cut) =
                    (a.clone(), hold.clone(), l.clone(), lost.clone(), c.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = cr.read(&mut buf).await {
                        let chunk = &buf[..n];
                        let cut = *to_cut.lock().unwrap();
                        if let Some((_, answer)) = cut.filter(|&(t, _)| chunk.starts_with(t)) {
                            // Stopped on the way: the server never sees it.
                            if let Some(answer) = answer {
                                let _ = answers.lock().await.write_all(answer.as_bytes()).await;
                            }
                            let _ = answers.lock().await.shutdown().await;
                            break;
                        }
                        if chunk.starts_with(b"GET /v1/wallet/sync")
                            && armed.swap(false, Ordering::SeqCst)
                        {
                            held.store(true, Ordering::SeqCst);
                        }
                        {
                            let mut target = to_lose.lock().unwrap();
                            if target.is_some_and(|t| chunk.starts_with(t)) {
                                *target = None;
                                losing.store(true, Ordering::SeqCst);
                            }
                        }
                        if uw.write_all(chunk).await.is_err() {
                            break;
                        }
                    }
                });
                let release = r.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = ur.read(&mut buf).await {
                        if hold.swap(false, Ordering::SeqCst) {
                            release.notified().await;
                        }
                        if lost.load(Ordering::SeqCst) {
                            // The answer came back and is lost: the client's connection
                            // closes without it.
                            break;
                        }
                        if cw.lock().await.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    // The other direction holds the client's write half too: close it
                    // here, or the client waits for an answer that is not coming.
                    let _ = cw.lock().await.shutdown().await;
                });
            }
        });
        HoldingProxy {
            url,
            armed,
            release,
            lose,
            cut,
        }
    }
}

impl HoldingProxy {
    /// Holds the answer to the next sync request; returns once that request has gone by.
    pub async fn hold_next_sync(&self, then: impl std::future::Future<Output = ()>) {
        use std::sync::atomic::Ordering;
        self.armed.store(true, Ordering::SeqCst);
        then.await;
    }

    /// Loses the answer to the next request that starts with `request` (e.g.
    /// `b"POST /v1/wallet/apply"`): the server gets the request and answers, the client
    /// sees its connection closed.
    pub fn lose_next_answer_to(&self, request: &'static [u8]) {
        *self.lose.lock().unwrap() = Some(request);
    }

    /// Drops every request that starts with `request` before it reaches the server (its
    /// connection closed), until [`HoldingProxy::mend`].
    pub fn cut(&self, request: &'static [u8]) {
        *self.cut.lock().unwrap() = Some((request, None));
    }

    /// Answers every request that starts with `request` with `answer` (a whole HTTP
    /// response) itself, without the server, until [`HoldingProxy::mend`].
    pub fn answer(&self, request: &'static [u8], answer: &'static str) {
        *self.cut.lock().unwrap() = Some((request, Some(answer)));
    }

    /// Lets every request through again.
    pub fn mend(&self) {
        *self.cut.lock().unwrap() = None;
    }

    /// Whether the answer to lose is still to come.
    pub fn still_to_lose(&self) -> bool {
        self.lose.lock().unwrap().is_some()
    }

    /// Returns once the held sync request has gone by to the server.
    pub async fn until_held(&self) {
        use std::sync::atomic::Ordering;
        while self.armed.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
