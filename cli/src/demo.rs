//! `edl demo`: the whole life of an e-licence against an authority started in-process on
//! a temporary database and a free loopback port, every step checked.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use edl_authority::root::RootKey;
use edl_authority::{Config, serve};
use edl_core::credential::Audience;
use edl_core::crypto::PublicKey;
use edl_core::licence::fixtures::{SAMPLE_LICENCE_NUMBER, sample_licence};
use edl_core::licence::{StatusColour, beijing};
use edl_core::net::{NetError, OnlineVerifier, OnlineVerifyError};
use edl_core::present::Form;
use edl_core::verify::{
    Policy, Rejection, StatusCheck, china_date, verify_offline, verify_offline_with_status,
};
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{PhotoSource, TestIdentityProvider, Wallet, WalletError};
use edl_core::wire::{ApplicationPhase, ErrorCode, NewViolation, Renewal, paths};
use reqwest::Method;
use serde_json::{Value, json};

use crate::http::Admin;
use crate::scanner::Scanner;
use crate::show;

/// The test identity provider's shared secret for the demo authority.
const IDENTITY_SECRET: &[u8] = b"edl demo identity provider";
/// The wallet's key-store passphrase (a demo; a real wallet asks the user).
const PASSPHRASE: &str = "edl demo passphrase";
/// A photo the local check rejects: the backdrop is grey, not white.
const GREY_PHOTO: &[u8] = include_bytes!("../../core/tests/photos/grey_background.jpg");
/// A photo that passes the local check.
const CLEAN_PHOTO: &[u8] = include_bytes!("../../core/tests/photos/clean.jpg");

/// Options of `edl demo`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  edl demo            live QR and colours on a terminal
  edl demo --no-tty   steps only, as CI runs it
  edl demo --step     Enter between steps

Exit status 0 only when every check held.")]
pub struct Args {
    /// Print the steps only (no live QR, no colour); implied when stdout is not a terminal.
    #[arg(long)]
    no_tty: bool,
    /// Wait for Enter between steps.
    #[arg(long)]
    step: bool,
    /// Seconds to show the live rotating QR (terminal only).
    #[arg(long, default_value_t = 8)]
    live_secs: u64,
}

/// Runs the demo; an `Err` names the first check that did not hold.
pub fn run(args: &Args) -> Result<(), String> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let tty = !args.no_tty && std::io::stdout().is_terminal();
    let demo = Demo {
        tty,
        step: args.step,
        live_secs: args.live_secs,
    };
    runtime.block_on(demo.run())
}

struct Demo {
    tty: bool,
    step: bool,
    live_secs: u64,
}

/// `Err(why)` unless `held`.
fn check(held: bool, why: &str) -> Result<(), String> {
    if held {
        Ok(())
    } else {
        Err(format!("check failed: {why}"))
    }
}

fn wallet_err(what: &str) -> impl Fn(WalletError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

impl Demo {
    fn step(&self, n: u32, title: &str) {
        if self.step && n > 1 {
            print!("\n(press Enter for the next step) ");
            let _ = std::io::stdout().flush();
            let _ = std::io::stdin().lock().read_line(&mut String::new());
        }
        println!("\n▶ {n}. {title}");
    }

    async fn run(&self) -> Result<(), String> {
        let colour = self.tty;
        self.step(
            1,
            "Starting an authority on a temporary database and a free loopback port",
        );
        let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
        let mut token = [0u8; 16];
        getrandom::fill(&mut token).map_err(|_| "no OS random generator")?;
        let token = hex::encode(token);
        let mut config = Config::new(
            dir.path().join("authority.db"),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        );
        config.admin_token = token.clone();
        config.identity_secret = IDENTITY_SECRET.to_vec();
        // The root that signs the trust list: in memory for the demo, its own file
        // (`edl authority root create`) for a real authority.
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| "no OS random generator")?;
        let root = RootKey::from_seed(seed);
        let pinned = root.public();
        config.root = Some(Arc::new(root));
        let server = serve(config).await.map_err(|e| format!("authority: {e}"))?;
        let url = server.url();
        let admin = Admin::new(&url, &token)?;
        println!("  ✓ authority at {url}, root key {pinned}");

        let result = self.flow(&url, &admin, dir.path(), pinned, colour).await;
        server.shutdown().await.map_err(|e| e.to_string())?;
        result?;
        println!("\nAll checks held.");
        Ok(())
    }

    async fn flow(
        &self,
        url: &str,
        admin: &Admin,
        dir: &std::path::Path,
        root: PublicKey,
        colour: bool,
    ) -> Result<(), String> {
        self.step(2, "The registry adds a driver (no photo on file)");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| "clock before 1970")?
            .as_secs();
        let sample = sample_licence(china_date(now));
        let number = format!("{}0001", &SAMPLE_LICENCE_NUMBER[..14]);
        let created = admin
            .call(
                Method::POST,
                paths::DRIVERS,
                json!({
                    "licence_number": number,
                    "name": sample.main.name,
                    "sex": "male",
                    "nationality": sample.main.nationality,
                    "date_of_birth": "1990-03-07",
                    "classes": "C1",
                    "first_issue": "2012-03-07",
                    "valid_from": "2018-03-07",
                    "valid_until": "2028-03-07",
                    "address": sample.supplementary.address,
                    "issuing_authority": sample.supplementary.issuing_authority,
                }),
            )
            .await?;
        let driver = created["driver_id"]
            .as_u64()
            .ok_or("no driver id in the answer")?;
        println!("  ✓ driver {driver}: {} · {number}", sample.main.name);
        let code = admin
            .call(
                Method::POST,
                &paths::with_id(paths::ACTIVATION_CODE, driver),
                Value::Null,
            )
            .await?;
        let code = code["code"]
            .as_str()
            .ok_or("no activation code")?
            .to_owned();
        println!("  ✓ activation code {code} (given to the driver at the counter or by SMS)");

        self.step(
            3,
            "The driver enrols a wallet (software key store, temp dir)",
        );
        let wallet_dir = dir.join("wallet");
        edl_core::wallet::make_wallet_dir(&wallet_dir).map_err(|e| format!("wallet dir: {e}"))?;
        let keys = SoftwareKeyStore::from_passphrase(PASSPHRASE);
        let wallet = Wallet::open(&wallet_dir, &keys).map_err(wallet_err("open"))?;
        wallet
            .enrol(url, &number, &code)
            .await
            .map_err(wallet_err("enrol"))?;
        println!("  ✓ enrolled; the device key never leaves the wallet");

        self.step(
            4,
            "The driver applies (identity check by the test provider)",
        );
        let view = wallet
            .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
            .await
            .map_err(wallet_err("apply"))?;
        check(
            view.phase == ApplicationPhase::AwaitingPhoto,
            "a driver without a photo on file is asked for one",
        )?;
        println!("  ✓ identity checked; the authority asks for a photo");

        self.step(
            5,
            "A photo with a grey backdrop: the local check rejects it",
        );
        let report = wallet
            .check_photo(GREY_PHOTO)
            .map_err(wallet_err("photo check"))?;
        check(!report.passes(), "the grey-backdrop photo fails the check")?;
        for p in &report.problems {
            println!("  ✗ {}", p.hint_en());
        }
        match wallet
            .submit_photo(GREY_PHOTO.to_vec(), PhotoSource::Album, None)
            .await
        {
            Err(WalletError::PhotoProblems(_)) => {
                println!("  ✓ not uploaded: the wallet refuses it before it leaves the phone")
            }
            other => return Err(format!("the bad photo was not refused locally: {other:?}")),
        }

        self.step(6, "A clean photo passes and is uploaded for review");
        let report = wallet
            .check_photo(CLEAN_PHOTO)
            .map_err(wallet_err("photo check"))?;
        check(report.passes(), "the clean photo passes the check")?;
        let accepted = wallet
            .submit_photo(CLEAN_PHOTO.to_vec(), PhotoSource::Camera, None)
            .await
            .map_err(wallet_err("photo upload"))?;
        check(
            accepted.application.phase == ApplicationPhase::UnderReview,
            "the application is under review",
        )?;
        println!("  ✓ uploaded (photo {}); under review", accepted.photo_id);

        self.step(7, "A reviewer approves the photo; the wallet syncs");
        let queue = admin.call(Method::GET, paths::REVIEWS, Value::Null).await?;
        let pending = queue["reviews"].as_array().map_or(0, Vec::len);
        println!("  review queue: {pending} photo(s)");
        admin
            .call(
                Method::POST,
                &paths::with_id(paths::APPROVE, accepted.photo_id),
                Value::Null,
            )
            .await?;
        let report = wallet.sync().await.map_err(wallet_err("sync"))?;
        check(report.elicence_changed, "the sync brings the e-licence")?;
        check(
            wallet.application().ok().flatten().map(|a| a.phase) == Some(ApplicationPhase::Issued),
            "the application is issued",
        )?;
        println!("  ✓ approved; e-licence issued and synced");
        for m in wallet.messages().map_err(wallet_err("messages"))? {
            println!("  message: {} — {}", m.title, m.body);
        }

        self.step(8, "The wallet shows both pages");
        let licence = wallet
            .licence()
            .map_err(wallet_err("licence"))?
            .ok_or("no licence in the wallet")?;
        show::main_page(&licence, colour);
        show::supplementary_page(&licence);
        let points_before = licence.supplementary.cycle.points;

        self.step(9, "The live rotating QR and the manual code");
        show::live_qr(&wallet, self.tty, self.live_secs)?;
        let codes = wallet
            .dynamic_code(Audience::Enforcement, None)
            .map_err(wallet_err("code"))?;
        println!(
            "  manual code {} ({} s left) · barcode {}",
            codes.manual_code,
            codes.manual_seconds_left,
            codes.barcode.text()
        );

        self.step(
            10,
            "Offline check: police and a rental firm, with the signed lists only",
        );
        // The scanner pinned the root once; it refreshes its lists when it has network.
        let mut scanner = Scanner::pinned(root);
        let held = scanner
            .refresh(url, wallet.now().map_err(wallet_err("clock"))?)
            .await?;
        println!("  the scanner holds the {held}");
        for audience in [Audience::Enforcement, Audience::Business] {
            let p = wallet
                .present(Form::Offline, audience, None)
                .map_err(wallet_err("present"))?;
            let now = wallet.now().map_err(wallet_err("clock"))?;
            let v = verify_offline_with_status(
                &p.payload,
                scanner.trust(now)?,
                scanner.status(),
                now,
                &Policy::new(audience),
            )
            .map_err(|e| format!("offline {audience} check refused: {e}"))?;
            check(
                v.status == StatusCheck::InForce,
                "the status list holds it in force",
            )?;
            println!(
                "  ✓ {audience} QR, {} bytes, verified offline, in force on the status list:",
                p.payload.len()
            );
            show::disclosed(&v.view, colour);
        }
        let trust = scanner.trust(wallet.now().map_err(wallet_err("clock"))?)?;
        let p = wallet
            .present(Form::Offline, Audience::Enforcement, None)
            .map_err(wallet_err("present"))?;
        let later = wallet.now().map_err(wallet_err("clock"))? + 2 * u64::from(p.window.period);
        match verify_offline(
            &p.payload,
            trust,
            later,
            &Policy::new(Audience::Enforcement),
        ) {
            Err(Rejection::WindowExpired) => {
                println!(
                    "  ✓ a screenshot replayed a minute later is rejected: time window expired"
                )
            }
            other => return Err(format!("a replayed QR was not rejected: {other:?}")),
        }

        self.step(
            11,
            "Online check: police and a rental firm ask the authority",
        );
        let police = self
            .verifier(admin, url, "Traffic police", "enforcement")
            .await?;
        let rental = self.verifier(admin, url, "Rental firm", "rental").await?;
        let qr = wallet
            .present(Form::Online, Audience::Enforcement, None)
            .map_err(wallet_err("present"))?;
        let r = police.verify_qr(&qr.payload).await.map_err(refused)?;
        check(r.answer.in_force, "the licence is in force")?;
        println!(
            "  ✓ police scanned the online QR ({} bytes):",
            qr.payload.len()
        );
        show::online(&r, colour);
        // A code is spent by its first verification (D68): the same QR shown to the rental
        // firm is refused, and the driver shows it the live business QR instead.
        let again = rental.verify_qr(&qr.payload).await;
        check(
            matches!(
                again,
                Err(OnlineVerifyError::Net(NetError::Rejected {
                    code: edl_core::wire::ErrorCode::AlreadyUsed
                }))
            ),
            "the police's code is spent: the rental firm is told it was already used",
        )?;
        println!(
            "  ✓ the same QR shown to the rental firm: refused, already used (single-use codes)"
        );
        let qr = wallet
            .present(Form::Online, Audience::Business, None)
            .map_err(wallet_err("present"))?;
        let r = rental.verify_qr(&qr.payload).await.map_err(refused)?;
        check(
            matches!(r.answer.view, edl_core::wire::LiveView::Business { .. }),
            "a rental firm sees the business view only",
        )?;
        println!("  ✓ the rental firm scanned the driver's business QR and sees less:");
        show::online(&r, colour);
        let codes = wallet
            .dynamic_code(Audience::Enforcement, None)
            .map_err(wallet_err("code"))?;
        let r = police
            .verify_manual(&number, &codes.manual_code)
            .await
            .map_err(refused)?;
        check(r.answer.in_force, "the manual code verifies")?;
        println!(
            "  ✓ the manual code {} verified by phone",
            codes.manual_code
        );
        let r = police
            .verify_barcode(codes.barcode.text())
            .await
            .map_err(refused)?;
        check(r.answer.in_force, "the barcode verifies")?;
        println!("  ✓ the barcode {} verified", codes.barcode.text());

        self.step(
            12,
            "The police record a violation; the points change after a sync",
        );
        let violation = NewViolation {
            date: china_date(wallet.now().map_err(wallet_err("clock"))?),
            place: "北京市朝阳区建国路".into(),
            act: "机动车违反禁止标线指示".into(),
            points: 3,
            fine_yuan: 200,
            handled: false,
        };
        admin
            .call(
                Method::POST,
                &paths::with_id(paths::VIOLATIONS, driver),
                serde_json::to_value(&violation).map_err(|e| e.to_string())?,
            )
            .await?;
        wallet.sync().await.map_err(wallet_err("sync"))?;
        let licence = wallet
            .licence()
            .map_err(wallet_err("licence"))?
            .ok_or("no licence")?;
        let points_after = licence.supplementary.cycle.points;
        check(
            points_after == points_before + 3,
            "the wallet shows 3 more points",
        )?;
        println!("  ✓ points {points_before} → {points_after} of 12");
        show::supplementary_page(&licence);

        self.step(
            13,
            "The licence is suspended (暂扣): the offline scanner refuses it, the wallet shows red",
        );
        admin
            .call(
                Method::PUT,
                &paths::with_id(paths::STATUS, driver),
                json!({"status": "D"}),
            )
            .await?;
        // The driver's phone has not synced: its offline QR still says "in force".
        let p = wallet
            .present(Form::Offline, Audience::Enforcement, None)
            .map_err(wallet_err("present"))?;
        let now = wallet.now().map_err(wallet_err("clock"))?;
        let held = scanner.refresh(url, now).await?;
        println!("  the police officer's offline scanner refreshes its lists: {held}");
        match verify_offline_with_status(
            &p.payload,
            scanner.trust(now)?,
            scanner.status(),
            now,
            &Policy::new(Audience::Enforcement),
        ) {
            Err(why @ Rejection::ElicenceSuspended) => println!(
                "  ✓ with no network, it refuses the suspended licence's offline QR: {why}"
            ),
            other => return Err(format!("the offline scanner did not refuse: {other:?}")),
        }
        wallet.sync().await.map_err(wallet_err("sync"))?;
        let licence = wallet
            .licence()
            .map_err(wallet_err("licence"))?
            .ok_or("no licence")?;
        check(
            wallet.status_colour().ok().flatten() == Some(StatusColour::Red),
            "a suspended licence shows red",
        )?;
        println!("  status {}", show::status(licence.main.status, colour));
        let qr = wallet
            .present(Form::Online, Audience::Enforcement, None)
            .map_err(wallet_err("present"))?;
        let r = police.verify_qr(&qr.payload).await.map_err(refused)?;
        check(!r.answer.in_force, "an online check shows it not in force")?;
        println!("  ✓ the police see it at once:");
        show::online(&r, colour);
        admin
            .call(
                Method::PUT,
                &paths::with_id(paths::STATUS, driver),
                json!({"status": "A"}),
            )
            .await?;
        println!("  the suspension ends (status A)");

        self.step(14, "Renewal: the old QR is rejected, the wallet re-applies");
        let old = wallet
            .present(Form::Online, Audience::Enforcement, None)
            .map_err(wallet_err("present"))?;
        let renewal = Renewal {
            classes: None,
            valid_from: None,
            valid_until: Some(china_date(now + 6 * 366 * 86_400)),
            issuing_authority: None,
        };
        admin
            .call(
                Method::POST,
                &paths::with_id(paths::RENEW, driver),
                serde_json::to_value(&renewal).map_err(|e| e.to_string())?,
            )
            .await?;
        match police.verify_qr(&old.payload).await {
            Err(
                why @ OnlineVerifyError::Net(NetError::Rejected {
                    code: ErrorCode::ElicenceSuperseded,
                }),
            ) => println!("  ✓ old QR rejected: {why}"),
            other => return Err(format!("the old QR was not rejected: {other:?}")),
        }
        wallet.sync().await.map_err(wallet_err("sync"))?;
        check(
            wallet.application().ok().flatten().map(|a| a.phase)
                == Some(ApplicationPhase::ReapplyNeeded),
            "the wallet learns it must re-apply",
        )?;
        let view = wallet
            .apply(Arc::new(TestIdentityProvider::new(IDENTITY_SECRET)))
            .await
            .map_err(wallet_err("re-apply"))?;
        check(
            view.phase == ApplicationPhase::Issued,
            "re-applying issues a new e-licence",
        )?;
        let licence = wallet
            .licence()
            .map_err(wallet_err("licence"))?
            .ok_or("no licence")?;
        println!("  ✓ re-applied; valid until {}", licence.main.valid_until);
        let qr = wallet
            .present(Form::Online, Audience::Enforcement, None)
            .map_err(wallet_err("present"))?;
        let r = police.verify_qr(&qr.payload).await.map_err(refused)?;
        check(r.answer.in_force, "the new QR verifies")?;
        println!("  ✓ the new QR verifies");
        match police.verify_qr(&old.payload).await {
            Err(why) => println!("  ✓ the old QR is still rejected: {why}"),
            Ok(_) => return Err("the old QR verified after renewal".into()),
        }

        self.step(15, "The driver's verification log");
        wallet.sync().await.map_err(wallet_err("sync"))?;
        let log = wallet.verification_log().map_err(wallet_err("log"))?;
        for e in &log {
            println!(
                "  {} · {} ({:?}) · {:?} · {:?}",
                beijing::format(e.at),
                e.verifier,
                e.verifier_class,
                e.method,
                e.outcome
            );
        }
        check(!log.is_empty(), "the wallet lists who checked it")?;
        Ok(())
    }

    /// Registers a verifier and returns its online client.
    async fn verifier(
        &self,
        admin: &Admin,
        url: &str,
        name: &str,
        class: &str,
    ) -> Result<OnlineVerifier, String> {
        let v = admin
            .call(
                Method::POST,
                paths::VERIFIERS,
                json!({"name": name, "class": class}),
            )
            .await?;
        let key = v["api_key"].as_str().ok_or("no API key")?;
        println!("  verifier \"{name}\" ({class}) registered");
        OnlineVerifier::new(url, key).map_err(|e| e.to_string())
    }
}

/// An online check that gave no answer, as the demo's one-line failure.
fn refused(e: OnlineVerifyError) -> String {
    format!("online check refused: {e}")
}
