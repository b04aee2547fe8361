//! Test support (feature `testing`): a real server on loopback over a real database
//! file in a temp dir, and the three kinds of client: admin, wallet (device-signed) and
//! verifier. The authority's tests (`tests/common` re-exports this) and benches share
//! it; a server build leaves it out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::{Config, ManualClock, RunningServer, serve};
use edl_core::credential::{Audience, Credential, TrustList};
use edl_core::crypto::{SecretKey, TotpSeed};
use edl_core::licence::fixtures::{SAMPLE_LICENCE_NUMBER, sample_licence};
use edl_core::present::Holder;
use edl_core::wire::{
    self, ApplicationView, Base64, CheckOutcome, EnrolResponse, IdentityChallenge, SyncResponse,
    TrustListResponse, bearer, identity::test_provider_attestation, paths, sign_request,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Tuesday 2026-11-24 11:00:05 Beijing time.
pub const START: u64 = 1_795_489_205;
pub const ADMIN: &str = "test-admin-token";
pub const IDENTITY_SECRET: &[u8] = b"test identity provider secret";

pub struct TestServer {
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database of this server (a schema of its own on the server named by
    /// `EDL_TEST_PG`), or `None` for the SQLite file in `dir`.
    pub pg: Option<String>,
    pub clock: ManualClock,
    pub server: Option<RunningServer>,
    pub url: String,
    pub http: reqwest::Client,
}

/// The environment variable naming a PostgreSQL server
/// (`postgres://user@127.0.0.1:port/db`, e.g. from `scripts/pg-cluster start`): when set,
/// every [`TestServer`] runs on it instead of SQLite.
pub const PG_ENV: &str = "EDL_TEST_PG";

/// A client of the PostgreSQL database at `url` (as the tests read or change it behind the
/// authority's back), its connection driven by a task of the current runtime.
/// Sends `body` to `/v1/verify` at `addr` as the verifier with `api_key` over a raw socket,
/// and hangs up `after` without reading the answer: a client gone while its check runs.
pub async fn verify_and_hang_up(
    addr: &str,
    api_key: &str,
    body: &Value,
    after: std::time::Duration,
) {
    use tokio::io::AsyncWriteExt;
    let body = serde_json::to_vec(body).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{}: {}\r\ncontent-length: {}\r\n\r\n",
        paths::VERIFY,
        edl_core::wire::HEADER_API_KEY,
        api_key,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    tokio::time::sleep(after).await;
}

pub async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server of the test is reachable");
    tokio::spawn(conn);
    client
}

/// A new empty database on the PostgreSQL server at `url`: a schema of its own (made in
/// milliseconds, unlike a database), selected through the connection's `search_path`.
pub async fn pg_database(url: &str) -> String {
    let client = pg_client(url).await;
    let schema = format!("t_{}", hex::encode(&rand16()[..8]));
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("a test schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

pub fn config(db: PathBuf, clock: &ManualClock) -> Config {
    let mut config = Config::new(db, SocketAddr::from(([127, 0, 0, 1], 0)));
    config.admin_token = ADMIN.into();
    config.identity_secret = IDENTITY_SECRET.to_vec();
    config.clock = Arc::new(clock.clone());
    // A hand-set clock, days from the database's (D182).
    config.max_clock_skew = None;
    config.root = Some(Arc::new(edl_authority_root()));
    config
}

/// The test authority's root seed (verifiers in the tests pin its public key).
pub const ROOT_SEED: [u8; 32] = [0xA0; 32];

/// The test authority's root key.
pub fn edl_authority_root() -> crate::root::RootKey {
    crate::root::RootKey::from_seed(ROOT_SEED)
}

impl TestServer {
    /// A server on a fresh database: SQLite in a temp dir, or PostgreSQL when the
    /// environment names a server (`EDL_TEST_PG`, see [`pg_database`]).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server on a fresh database on the PostgreSQL server at `pg` (a schema of its
    /// own), or on SQLite for `None`.
    pub async fn start_on(pg: Option<&str>) -> TestServer {
        Self::start_on_with(pg, |_| {}).await
    }

    /// A server whose configuration `change` adjusts first (PostgreSQL when the
    /// environment names a server).
    pub async fn start_with(change: impl FnOnce(&mut Config)) -> TestServer {
        let server = std::env::var(PG_ENV).ok().filter(|url| !url.is_empty());
        Self::start_on_with(server.as_deref(), change).await
    }

    /// [`TestServer::start_on`] with the configuration `change` adjusts first.
    pub async fn start_on_with(pg: Option<&str>, change: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(START);
        let pg = match pg {
            Some(url) => Some(pg_database(url).await),
            None => None,
        };
        let mut c = config(dir.path().join("authority.db"), &clock);
        c.postgres_url = pg.clone();
        change(&mut c);
        let server = serve(c).await.expect("server starts");
        TestServer {
            url: server.url(),
            server: Some(server),
            dir,
            pg,
            clock,
            http: reqwest::Client::new(),
        }
    }

    /// The clients of a server that runs elsewhere (the real `edl authority serve`
    /// process in the CLI's fault tests) at `url`, signing with the time `clock` shows.
    /// It has no server to restart and no database of its own.
    pub fn clients_of(url: &str, clock: ManualClock) -> TestServer {
        TestServer {
            dir: tempfile::tempdir().expect("temp dir"),
            pg: None,
            clock,
            server: None,
            url: url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("authority.db")
    }

    /// The configuration this server started with (same database, a new free port).
    pub fn config(&self) -> Config {
        let mut c = config(self.db(), &self.clock);
        c.postgres_url = self.pg.clone();
        c
    }

    /// A second authority process on this server's database (its configuration on a new
    /// port), and clients of it that sign with this server's clock. The caller shuts the
    /// second one down.
    pub async fn second_process(&self) -> (RunningServer, TestServer) {
        self.second_process_with(|_| {}).await
    }

    /// [`TestServer::second_process`] with its configuration adjusted by `change` first.
    pub async fn second_process_with(
        &self,
        change: impl FnOnce(&mut Config),
    ) -> (RunningServer, TestServer) {
        let mut config = self.config();
        change(&mut config);
        let other = serve(config)
            .await
            .expect("a second authority on the same database");
        let clients = TestServer::clients_of(&other.url(), self.clock.clone());
        (other, clients)
    }

    /// `/metrics` scraped with `token`: the status and the text.
    pub async fn scrape(&self, token: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}/metrics", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("/metrics answers");
        (r.status(), r.text().await.expect("a text answer"))
    }

    /// Runs `sql` (statements both backends accept) on this server's database behind the
    /// authority's back: a row a test makes corrupt, as a faulty disk or a hand edit would.
    pub async fn run_sql(&self, sql: &str) {
        match &self.pg {
            Some(url) => {
                pg_client(url)
                    .await
                    .batch_execute(sql)
                    .await
                    .expect("the test's SQL");
            }
            None => rusqlite::Connection::open(self.db())
                .and_then(|c| c.execute_batch(sql))
                .expect("the test's SQL"),
        }
    }

    /// Whether the tests run on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Stops the server and starts a new one on the same database file.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await
    }

    /// Restarts on the same database with [`TestServer::config`] that `change` adjusts
    /// first (a new root key, say).
    pub async fn restart_with(&mut self, change: impl FnOnce(&mut Config)) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("clean shutdown");
        }
        let mut config = self.config();
        change(&mut config);
        let server = serve(config).await.expect("restarts");
        self.url = server.url();
        self.server = Some(server);
    }

    pub fn now(&self) -> u64 {
        crate::Clock::now(&self.clock)
    }

    /// Sets the clock 20 s into the next 30 s code window and returns that time. A code
    /// shown then is accepted until the end of the window after it, 40 s later: the tests
    /// of resends after a code's windows step past them from here.
    pub fn late_in_next_window(&self) -> u64 {
        let at = (self.now() / 30 + 1) * 30 + 20;
        self.clock.set(at);
        at
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let (status, value, headers) = self
            .try_raw(method, path, headers, body)
            .await
            .expect("request is answered");
        let value = value.unwrap_or_else(|bytes| {
            panic!(
                "{path}: not JSON ({status}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value, headers)
    }

    /// A request that may not be answered (the fault tests kill servers under load): the
    /// transport's error, or the status, the body as JSON (its bytes when it is not JSON)
    /// and the headers.
    pub async fn try_raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<
        (
            StatusCode,
            Result<Value, Vec<u8>>,
            reqwest::header::HeaderMap,
        ),
        reqwest::Error,
    > {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let value = serde_json::from_slice(&bytes).map_err(|_| bytes.to_vec());
        Ok((status, value, headers))
    }

    pub async fn admin(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin_as(ADMIN, method, path, body).await
    }

    /// An admin call with the bearer `token` (a per-person token with its roles, or none
    /// of them); a `null` body sends none.
    pub async fn admin_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let body = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        let (s, v, _) = self
            .raw(method, path, &[("authorization", bearer(token))], body)
            .await;
        (s, v)
    }

    pub async fn admin_ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (s, v) = self.admin(method, path, body).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    /// The registry's record of `driver` (`GET /admin/drivers/{id}`), which must answer
    /// 200.
    pub async fn driver_detail(&self, driver: u64) -> Value {
        self.admin_ok(
            Method::GET,
            &paths::with_id(paths::DRIVER, driver),
            Value::Null,
        )
        .await
    }

    /// Registers the sample driver with `number` (and a photo on file when asked).
    pub async fn create_driver(&self, number: &str, photo_on_file: bool) -> u64 {
        let l = sample_licence(edl_core::verify::china_date(self.now()));
        let mut body = json!({
            "licence_number": number,
            "name": l.main.name,
            "sex": "male",
            "nationality": l.main.nationality,
            "date_of_birth": "1990-03-07",
            "classes": "C1",
            "first_issue": "2012-03-07",
            "valid_from": "2018-03-07",
            "valid_until": "2028-03-07",
            "address": l.supplementary.address,
            "issuing_authority": l.supplementary.issuing_authority,
        });
        if photo_on_file {
            body["photo"] = json!(Base64::encode(&jpeg(1)));
        }
        let v = self.admin_ok(Method::POST, paths::DRIVERS, body).await;
        v["driver_id"].as_u64().unwrap()
    }

    pub async fn verifier(&self, name: &str, class: &str) -> Verifier {
        self.verifier_account(name, class).await.0
    }

    /// A new verifier and its account's id (what a revocation names, D194).
    pub async fn verifier_account(&self, name: &str, class: &str) -> (Verifier, u64) {
        let v = self
            .admin_ok(
                Method::POST,
                paths::VERIFIERS,
                json!({"name": name, "class": class}),
            )
            .await;
        let verifier = Verifier {
            api_key: v["api_key"].as_str().unwrap().to_owned(),
        };
        (verifier, v["verifier_id"].as_u64().unwrap())
    }

    /// Waits until `/readyz` answers 200, for `bound` at most (a held commit completed, a
    /// writer's lock taken).
    pub async fn ready_within(&self, bound: std::time::Duration) {
        let until = std::time::Instant::now() + bound;
        while self.raw(Method::GET, "/readyz", &[], Vec::new()).await.0 != StatusCode::OK {
            assert!(
                std::time::Instant::now() < until,
                "not ready within {bound:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn verify(
        &self,
        verifier: &Verifier,
        body: Value,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.raw(
            Method::POST,
            paths::VERIFY,
            &[(wire::HEADER_API_KEY, verifier.api_key.clone())],
            serde_json::to_vec(&body).unwrap(),
        )
        .await
    }

    /// The photo a verify `answer` names, fetched by `verifier` as its clients do: its API
    /// key, and the answer's photo grant when it carries one (D155). The status, the body
    /// (its bytes when it is not JSON) and the headers.
    pub async fn verifier_photo(
        &self,
        verifier: &Verifier,
        answer: &Value,
        extra: &[(&str, String)],
    ) -> (
        StatusCode,
        Result<Value, Vec<u8>>,
        reqwest::header::HeaderMap,
    ) {
        let url = answer["photo_url"]
            .as_str()
            .expect("the answer names the photo");
        let mut headers = vec![(wire::HEADER_API_KEY, verifier.api_key.clone())];
        if let Some(grant) = answer["photo_grant"].as_str() {
            headers.push((wire::HEADER_PHOTO_GRANT, grant.to_owned()));
        }
        headers.extend(extra.iter().cloned());
        self.try_raw(Method::GET, url, &headers, Vec::new())
            .await
            .expect("answered")
    }

    pub async fn trust(&self) -> TrustList {
        let (s, v, _) = self.raw(Method::GET, paths::TRUST_LIST, &[], vec![]).await;
        assert_eq!(s, StatusCode::OK);
        let t: TrustListResponse = serde_json::from_value(v).unwrap();
        TrustList::decode(t.trust_list.as_bytes()).unwrap()
    }

    /// A fresh one-time activation code for `driver`, from the admin API.
    pub async fn activation_code(&self, driver: u64) -> String {
        self.admin_ok(
            Method::POST,
            &paths::with_id(paths::ACTIVATION_CODE, driver),
            Value::Null,
        )
        .await["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Enrols a new wallet for `driver` (activation code from the admin API).
    pub async fn enrol(&self, driver: u64, number: &str) -> Wallet {
        let code = self.activation_code(driver).await;
        let key = SecretKey::from_seed(rand32());
        let (s, v, _) = self
            .raw(
                Method::POST,
                paths::ENROL,
                &[],
                serde_json::to_vec(&json!({
                    "licence_number": number,
                    "activation_code": code,
                    "device_public_key": Base64::encode(&key.public().to_bytes()),
                }))
                .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "enrol: {v}");
        let r: EnrolResponse = serde_json::from_value(v).unwrap();
        assert_eq!(r.account_id, driver);
        Wallet {
            key,
            account: r.account_id,
            number: number.to_owned(),
            cursor: 0,
            credential: None,
            seed: None,
        }
    }

    /// Sends a device-signed request.
    pub async fn signed(
        &self,
        wallet: &Wallet,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let body = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        let auth = sign_request(
            &wallet.key,
            method.as_str(),
            path,
            &body,
            self.now(),
            rand16(),
        );
        let headers: Vec<(&str, String)> = auth.headers(wallet.account).into_iter().collect();
        self.raw(method, path, &headers, body).await
    }

    pub async fn challenge(&self, wallet: &Wallet) -> IdentityChallenge {
        let (s, v, _) = self
            .signed(wallet, Method::POST, paths::IDENTITY_CHALLENGE, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK, "challenge: {v}");
        serde_json::from_value(v).unwrap()
    }

    /// Applies with a passing real-person check.
    pub async fn apply(&self, wallet: &Wallet) -> (StatusCode, Value) {
        let c = self.challenge(wallet).await;
        let attestation =
            test_provider_attestation(IDENTITY_SECRET, c.challenge.as_bytes(), &wallet.number);
        let (s, v, _) = self
            .signed(
                wallet,
                Method::POST,
                paths::APPLY,
                json!({"identity": {"challenge_id": c.challenge_id, "attestation": Base64::encode(&attestation)}}),
            )
            .await;
        (s, v)
    }

    pub async fn apply_ok(&self, wallet: &Wallet) -> ApplicationView {
        let (s, v) = self.apply(wallet).await;
        assert_eq!(s, StatusCode::OK, "apply: {v}");
        serde_json::from_value(v).unwrap()
    }

    pub async fn upload(
        &self,
        wallet: &Wallet,
        key: &str,
        photo: &[u8],
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        self.signed(
            wallet,
            Method::POST,
            paths::PHOTO,
            json!({"client_key": key, "photo": Base64::encode(photo)}),
        )
        .await
    }

    /// The driver's whole log, read from the start: who checked and how it ended, in order.
    pub async fn logged(&self, wallet: &mut Wallet) -> Vec<(String, CheckOutcome)> {
        wallet.cursor = 0;
        self.sync(wallet)
            .await
            .verifications
            .into_iter()
            .map(|e| (e.verifier, e.outcome))
            .collect()
    }

    /// The verifiers whose checks the driver's whole log says verified, in order.
    pub async fn verified_by(&self, wallet: &mut Wallet) -> Vec<String> {
        self.logged(wallet)
            .await
            .into_iter()
            .filter(|(_, outcome)| *outcome == CheckOutcome::Verified)
            .map(|(verifier, _)| verifier)
            .collect()
    }

    /// Syncs from the wallet's cursor and keeps what it needs to present.
    pub async fn sync(&self, wallet: &mut Wallet) -> SyncResponse {
        let path = format!("{}?cursor={}", paths::SYNC, wallet.cursor);
        let (s, v, _) = self.signed(wallet, Method::GET, &path, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "sync: {v}");
        let r: SyncResponse = serde_json::from_value(v).unwrap();
        wallet.cursor = r.cursor;
        if let Some(e) = &r.elicence
            && let (Some(c), Some(seed)) = (&e.credential, &e.totp_seed)
        {
            wallet.credential = Some(c.as_bytes().to_vec());
            wallet.seed = Some(seed.to_array::<32>().unwrap());
        }
        r
    }

    /// A wallet with an issued e-licence (photo on file, so issued at once).
    pub async fn issued_wallet(&self, number: &str) -> (u64, Wallet) {
        let driver = self.create_driver(number, true).await;
        let mut wallet = self.enrol(driver, number).await;
        let app = self.apply_ok(&wallet).await;
        assert_eq!(app.phase, wire::ApplicationPhase::Issued);
        self.sync(&mut wallet).await;
        assert!(wallet.credential.is_some());
        (driver, wallet)
    }
}

pub struct Verifier {
    pub api_key: String,
}

pub struct Wallet {
    pub key: SecretKey,
    pub account: u64,
    pub number: String,
    pub cursor: u64,
    pub credential: Option<Vec<u8>>,
    pub seed: Option<[u8; 32]>,
}

impl Wallet {
    /// The core holder over the credential the server issued.
    pub fn holder(&self) -> Holder {
        let credential = Credential::decode(self.credential.as_ref().unwrap()).unwrap();
        Holder::new(
            credential,
            SecretKey::from_seed(*self.key.to_seed()),
            TotpSeed::from_bytes(self.seed.unwrap()),
        )
        .expect("credential bound to this device")
    }

    pub fn online_qr(&self, audience: Audience, now: u64) -> Value {
        self.online_qr_of_period(audience, now, 30)
    }

    /// An online QR whose code changes every `period` seconds.
    pub fn online_qr_of_period(&self, audience: Audience, now: u64, period: u32) -> Value {
        let p = self
            .holder()
            .present(edl_core::present::Form::Online, audience, now, period)
            .unwrap();
        json!({"method": "qr", "payload": Base64::encode(&p.payload)})
    }

    pub fn manual(&self, audience: Audience, now: u64) -> Value {
        let d = self.holder().dynamic_code(audience, now, 30).unwrap();
        json!({"method": "manual", "licence_number": self.number, "code": d.manual_code})
    }

    pub fn barcode(&self, audience: Audience, now: u64) -> Value {
        let d = self.holder().dynamic_code(audience, now, 30).unwrap();
        json!({"method": "barcode", "text": d.barcode.text()})
    }
}

/// The value of the first sample of `name` in a `/metrics` text whose labels include every
/// one of `labels`.
pub fn metric_sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub fn rand32() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).unwrap();
    b
}

pub fn rand16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b
}

/// A small real JPEG (32 × 40 pixels of one colour), different per `n`: the authority
/// reads a photo's header before keeping it (D222).
pub fn jpeg(n: u8) -> Vec<u8> {
    let colour = image::Rgb([n, n.wrapping_mul(37), 255 - n]);
    let img = image::RgbImage::from_pixel(32, 40, colour);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("a JPEG of a small image");
    out
}

/// Another sample licence number (the sample's with its last digits changed).
pub fn number(n: u32) -> String {
    format!("{}{:04}", &SAMPLE_LICENCE_NUMBER[..14], n)
}
