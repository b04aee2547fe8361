//! One HTTP client per wallet, kept between calls, so a sync after an upload reuses the
//! connection (and its TLS session) instead of a new handshake per call (D43).

use std::sync::{Mutex, PoisonError};

use super::{Client, NetError, tls};

/// The client of one wallet: built on first use, rebuilt when the authority's URL or the
/// pinned TLS roots change. Cloning the [`Client`] it hands out shares the connection pool.
#[derive(Default)]
pub(crate) struct ClientSlot(Mutex<Option<Kept>>);

struct Kept {
    base: String,
    /// [`tls::generation`] the client was built under.
    generation: u64,
    client: Client,
}

impl ClientSlot {
    /// The client for the authority at `base`.
    ///
    /// A wallet's client follows [`set_authority_roots`](super::set_authority_roots): after
    /// a change of roots the next call builds a new client with the new trust, as the
    /// client built per call did before the pool. (An `OnlineVerifier` keeps the trust it
    /// was made with, as D33 documents: the app makes a new one.)
    pub(crate) fn get(&self, base: &str) -> Result<Client, NetError> {
        // Read before building: a pin that lands while building bumps the generation past
        // the kept one, so the next call rebuilds rather than keeping the old trust.
        let generation = tls::generation();
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = kept.as_ref()
            && k.base == base
            && k.generation == generation
        {
            return Ok(k.client.clone());
        }
        let client = Client::new(base)?;
        *kept = Some(Kept {
            base: base.to_owned(),
            generation,
            client: client.clone(),
        });
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A keep-alive HTTP/1.1 server on loopback that answers every request with `{}` and
    /// counts the connections it accepted. Runs until the test process ends.
    fn counting_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    loop {
                        let mut length = 0usize;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    fn get(slot: &ClientSlot, url: &str) {
        let client = slot.get(url).unwrap();
        // On the core's runtime, as the wallet runs its calls: the pooled connection's task
        // lives there between calls.
        let call =
            crate::net::runtime::run(
                async move { client.get::<serde_json::Value>("/x").await.ok() },
            );
        let answer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(call)
            .flatten();
        assert!(answer.is_some());
    }

    #[test]
    fn calls_of_one_wallet_share_one_connection_until_the_roots_change() {
        let (url, accepted) = counting_server();
        let slot = ClientSlot::default();
        for _ in 0..3 {
            get(&slot, &url);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one pooled connection");
        // Pinning (here: back to the platform's verifier, which changes no other test's
        // trust) makes the next call build a client with the new trust.
        crate::net::set_authority_roots(None).unwrap();
        get(&slot, &url);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }
}
