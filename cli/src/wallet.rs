//! `edl wallet --dir DIR …`: a wallet on disk, driven through the core's `Wallet` like the
//! apps drive it. The key store's passphrase comes from EDL_PASSPHRASE or a prompt.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use edl_core::credential::Audience;
use edl_core::licence::beijing;
use edl_core::licence::printable;
use edl_core::net::NetError;
use edl_core::present::{DEFAULT_PERIOD, Form, payload_to_text};
use edl_core::wallet::store::SoftwareKeyStore;
use edl_core::wallet::{
    PhotoSource, TestIdentityProvider, UploadProgress, UploadStage, Wallet, WalletError,
};
use edl_core::wire::{ApplicationPhase, ErrorCode};
use serde_json::json;

use crate::show;

/// Options of `edl wallet`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  export EDL_PASSPHRASE='…'   # or type it when asked
  edl wallet --dir w enrol --authority http://127.0.0.1:8088 --licence 110101199003070001 --code 12345678
  EDL_IDENTITY_SECRET=… edl wallet --dir w apply
  edl wallet --dir w photo submit me.jpg
  edl wallet --dir w sync
  edl wallet --dir w show supplementary
  edl wallet --dir w qr --mode offline --audience business --png qr.png
  edl wallet --dir w --json log")]
pub struct Args {
    /// The wallet's directory (created by `enrol`).
    #[arg(long)]
    dir: PathBuf,
    /// Print read commands' results as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Enrol this wallet with an authority using the activation code.
    Enrol {
        /// The authority's URL.
        #[arg(long)]
        authority: String,
        /// The licence number.
        #[arg(long)]
        licence: String,
        /// The activation code from the vehicle office. Better from EDL_ACTIVATION_CODE:
        /// an argument is in the process list, which other local users can read (AG-F8).
        #[arg(long, env = "EDL_ACTIVATION_CODE", hide_env_values = true)]
        code: String,
    },
    /// Apply for the e-licence (identity check by the test provider, secret from
    /// EDL_IDENTITY_SECRET).
    Apply,
    /// Fetch changes from the authority.
    Sync,
    /// Show the licence pages.
    Show {
        /// Which page (both when omitted).
        #[arg(value_enum)]
        page: Option<Page>,
    },
    /// The rotating QR for now (the payload text too).
    Qr {
        /// Online (id + code) or offline (signed view).
        #[arg(long, value_enum, default_value = "online")]
        mode: Mode,
        /// Who it is for.
        #[arg(long, value_enum, default_value = "enforcement")]
        audience: AudienceArg,
        /// Write the QR as a PNG.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Write the QR as an SVG.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// The QR as it was this many seconds ago: what an old screenshot of the screen
        /// holds (to see a verifier refuse it).
        #[arg(long, default_value_t = 0)]
        seconds_ago: u64,
    },
    /// Write the barcode as a PNG.
    Barcode {
        /// Where to write it.
        #[arg(long)]
        png: PathBuf,
        /// Who it is for.
        #[arg(long, value_enum, default_value = "enforcement")]
        audience: AudienceArg,
    },
    /// The manual code (read out over the phone).
    Code {
        /// Who it is for.
        #[arg(long, value_enum, default_value = "enforcement")]
        audience: AudienceArg,
    },
    /// Check or submit a photo.
    #[command(subcommand)]
    Photo(PhotoCommand),
    /// Who checked this licence.
    Log,
    /// Messages from the authority.
    Messages,
}

#[derive(clap::Subcommand)]
enum PhotoCommand {
    /// Check a photo against the licence-photo rules on this machine.
    Check {
        /// A JPEG or PNG file.
        file: PathBuf,
    },
    /// Check and upload a photo for review.
    Submit {
        /// A JPEG or PNG file.
        file: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Page {
    Main,
    Supplementary,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    Online,
    Offline,
}

/// The audiences `--audience` names (`edl wallet` and `edl verify`).
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum AudienceArg {
    Enforcement,
    Business,
}

impl From<AudienceArg> for Audience {
    fn from(a: AudienceArg) -> Audience {
        match a {
            AudienceArg::Enforcement => Audience::Enforcement,
            AudienceArg::Business => Audience::Business,
        }
    }
}

/// Runs `edl wallet`; `Err` is a one-line reason.
pub fn run(args: Args) -> Result<(), String> {
    let colour = !args.json && std::io::stdout().is_terminal();
    if let Command::Photo(PhotoCommand::Check { file }) = &args.command {
        // No wallet needed: the check runs on this machine.
        return photo_check(file, args.json);
    }
    edl_core::wallet::make_wallet_dir(&args.dir)
        .map_err(|e| format!("cannot use {}: {e}", args.dir.display()))?;
    let passphrase = passphrase()?;
    let keys = SoftwareKeyStore::from_passphrase(&passphrase);
    let wallet = Wallet::open(&args.dir, &keys).map_err(|e| match e {
        WalletError::Store(edl_core::wallet::store::StoreError::WrongKey) => {
            "cannot open the wallet: wrong passphrase for this wallet".to_owned()
        }
        other => format!("cannot open the wallet: {other}"),
    })?;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let w = reason;
    match args.command {
        Command::Enrol {
            authority,
            licence,
            code,
        } => {
            runtime
                .block_on(wallet.enrol(&authority, &licence, &code))
                .map_err(w)?;
            println!("enrolled with {authority}");
        }
        Command::Apply => {
            let secret = std::env::var("EDL_IDENTITY_SECRET").unwrap_or_default();
            let view = runtime
                .block_on(wallet.apply(Arc::new(TestIdentityProvider::new(secret.into_bytes()))))
                .map_err(w)?;
            let held = wallet.elicence().map_err(w)?.is_some();
            println!(
                "application: {:?}{}",
                view.phase,
                next_step(view.phase, held)
            );
        }
        Command::Sync => {
            let tty = std::io::stderr().is_terminal();
            let r = show::with_spinner("syncing", tty, || runtime.block_on(wallet.sync()))
                .map_err(w)?;
            if args.json {
                println!(
                    "{}",
                    json!({
                        "licence_changed": r.licence_changed,
                        "elicence_changed": r.elicence_changed,
                        "application_changed": r.application_changed,
                        "reviews": r.reviews,
                        "messages": r.messages,
                        "verifications": r.verifications,
                    })
                );
            } else {
                println!(
                    "synced: licence {}, e-licence {}, {} message(s), {} check(s)",
                    changed(r.licence_changed),
                    changed(r.elicence_changed),
                    r.messages,
                    r.verifications
                );
            }
        }
        Command::Show { page } => {
            let l = wallet
                .licence()
                .map_err(w)?
                .ok_or("no licence yet: apply and sync first")?;
            if args.json {
                let v = match page {
                    Some(Page::Main) => json!(l.main),
                    Some(Page::Supplementary) => json!(l.supplementary),
                    None => json!(l),
                };
                println!(
                    "{}",
                    crate::files::json(
                        &serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
                    )
                );
            } else {
                if !matches!(page, Some(Page::Supplementary)) {
                    show::main_page(&l, colour);
                }
                if !matches!(page, Some(Page::Main)) {
                    show::supplementary_page(&l);
                }
            }
        }
        Command::Qr {
            mode,
            audience,
            png,
            svg,
            seconds_ago,
        } => {
            let form = match mode {
                Mode::Online => Form::Online,
                Mode::Offline => Form::Offline,
            };
            let at = wallet.now().map_err(w)?.saturating_sub(seconds_ago);
            let p = wallet
                .present_at(form, audience.into(), at, DEFAULT_PERIOD)
                .map_err(w)?;
            // An offline QR carries the whole licence: its file is the driver's alone.
            let private = form == Form::Offline;
            if let Some(file) = &png {
                write(file, &p.qr.to_png(8), private)?;
            }
            if let Some(file) = &svg {
                write(file, p.qr.to_svg().as_bytes(), private)?;
            }
            let text = payload_to_text(&p.payload);
            if args.json {
                println!(
                    "{}",
                    json!({"payload": text, "seconds_left": p.seconds_left, "bytes": p.payload.len()})
                );
            } else {
                if colour && png.is_none() && svg.is_none() {
                    print!("{}", p.qr.to_terminal());
                }
                println!("{text}");
                eprintln!("({} s left in this window)", p.seconds_left);
            }
        }
        Command::Barcode { png, audience } => {
            let c = wallet.dynamic_code(audience.into(), None).map_err(w)?;
            write(&png, &c.barcode.to_png(2, 80), false)?;
            println!("{}", c.barcode.text());
        }
        Command::Code { audience } => {
            let c = wallet.dynamic_code(audience.into(), None).map_err(w)?;
            if args.json {
                println!(
                    "{}",
                    json!({"code": c.manual_code, "seconds_left": c.manual_seconds_left, "barcode": c.barcode.text()})
                );
            } else {
                println!("{}", c.manual_code);
                eprintln!("({} s left)", c.manual_seconds_left);
            }
        }
        Command::Photo(PhotoCommand::Submit { file }) => {
            let bytes = read(&file)?;
            let accepted = runtime
                .block_on(wallet.submit_photo(
                    bytes,
                    PhotoSource::Album,
                    Some(Arc::new(Progress {
                        tty: std::io::stderr().is_terminal(),
                    })),
                ))
                .map_err(reason)?;
            println!(
                "photo {} submitted; application {:?}{}",
                accepted.photo_id,
                accepted.application.phase,
                next_step(
                    accepted.application.phase,
                    wallet.elicence().map_err(reason)?.is_some()
                )
            );
        }
        Command::Photo(PhotoCommand::Check { .. }) => unreachable!("handled above"),
        Command::Log => {
            let log = wallet.verification_log().map_err(w)?;
            if args.json {
                println!(
                    "{}",
                    crate::files::json(
                        &serde_json::to_string_pretty(&log).map_err(|e| e.to_string())?
                    )
                );
            } else if log.is_empty() {
                println!("no checks yet");
            } else {
                for e in log {
                    println!(
                        "{} · {} ({:?}) · {:?} · {:?} · {:?}",
                        beijing::format(e.at),
                        printable(&e.verifier),
                        e.verifier_class,
                        e.audience,
                        e.method,
                        e.outcome
                    );
                }
            }
        }
        Command::Messages => {
            let messages = wallet.messages().map_err(w)?;
            if args.json {
                println!(
                    "{}",
                    crate::files::json(
                        &serde_json::to_string_pretty(&messages).map_err(|e| e.to_string())?
                    )
                );
            } else if messages.is_empty() {
                println!("no messages");
            } else {
                for m in messages {
                    // The authority's text: printed only as it shows (the CLI review).
                    println!(
                        "{} · {} — {}",
                        beijing::format(m.at),
                        printable(&m.title),
                        printable(&m.body)
                    );
                }
            }
        }
    }
    Ok(())
}

/// A wallet error as one line a person can act on.
fn reason(e: WalletError) -> String {
    let code = |c: ErrorCode| {
        serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{c:?}"))
    };
    match e {
        WalletError::Net(NetError::Unauthorised(ErrorCode::BadActivationCode)) => {
            "refused: the activation code is wrong or expired".into()
        }
        WalletError::Net(NetError::Unauthorised(c)) => {
            format!(
                "refused: the authority does not accept this device ({})",
                code(c)
            )
        }
        WalletError::Net(NetError::Rejected { code: c }) => {
            format!("refused by the authority ({})", code(c))
        }
        WalletError::NotEnrolled => {
            "the wallet is not enrolled: run `edl wallet --dir DIR enrol …` first".into()
        }
        WalletError::NoElicence => "no e-licence in the wallet: apply, then sync".into(),
        WalletError::IdentityCheck => {
            "the identity check did not complete (EDL_IDENTITY_SECRET must be the authority's)"
                .into()
        }
        WalletError::PhotoProblems(problems) => format!(
            "photo refused: {}",
            problems
                .iter()
                .map(|p| p.hint_en())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => other.to_string(),
    }
}

/// What the driver does next in this phase, `held` saying whether the wallet holds an
/// e-licence (an issued one comes with a sync, which may have to wait for the network;
/// D157).
fn next_step(phase: ApplicationPhase, held: bool) -> &'static str {
    match phase {
        ApplicationPhase::AwaitingPhoto => {
            " — submit a photo: `edl wallet --dir DIR photo submit FILE`"
        }
        ApplicationPhase::UnderReview => " — a reviewer will look at it; `sync` later",
        ApplicationPhase::Issued if held => {
            " — the e-licence is in the wallet: `show`, `qr`, `code`"
        }
        ApplicationPhase::Issued => " — issued; it comes with the next `edl wallet --dir DIR sync`",
        ApplicationPhase::ReapplyNeeded => " — apply again: `edl wallet --dir DIR apply`",
        ApplicationPhase::Stopped => " — the e-licence is stopped; see `messages`",
        ApplicationPhase::NotApplied => "",
    }
}

fn changed(yes: bool) -> &'static str {
    if yes { "changed" } else { "unchanged" }
}

fn photo_check(file: &Path, json: bool) -> Result<(), String> {
    let bytes = read(file)?;
    let report = edl_core::photo::check_photo(&bytes).map_err(|e| format!("photo: {e}"))?;
    if json {
        let problems: Vec<_> = report.problems.iter().map(|p| p.hint_en()).collect();
        println!(
            "{}",
            json!({"passes": report.passes(), "problems": problems})
        );
    } else if report.passes() {
        println!("✓ the photo meets the rules this machine can check");
    } else {
        for p in &report.problems {
            println!("✗ {}", p.hint_en());
        }
    }
    if report.passes() {
        Ok(())
    } else {
        Err(format!(
            "photo refused: {} problem(s)",
            report.problems.len()
        ))
    }
}

/// Upload progress on stderr (a bar on a terminal, a line per stage otherwise), so stdout
/// stays clean for scripts.
struct Progress {
    tty: bool,
}

impl UploadProgress for Progress {
    fn on_stage(&self, stage: UploadStage) {
        if self.tty {
            let filled = (stage.fraction().clamp(0.0, 1.0) * 20.0).round() as usize;
            eprint!(
                "\r  photo [{}{}] {stage:?}   ",
                "█".repeat(filled),
                "░".repeat(20 - filled)
            );
            if stage == UploadStage::Uploaded {
                eprintln!();
            }
        } else {
            eprintln!("  photo: {stage:?}");
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    crate::files::read(path, crate::files::MAX_INPUT_BYTES)
}

/// A QR or barcode image, 0600 when `private` (an offline QR carries the whole licence),
/// else 0644 (a code and an id); a link at the path is replaced, not written through.
fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    crate::files::write(path, bytes, if private { 0o600 } else { 0o644 })
}

/// EDL_PASSPHRASE, or asked on the terminal (not echoed).
fn passphrase() -> Result<String, String> {
    if let Ok(p) = std::env::var("EDL_PASSPHRASE")
        && !p.is_empty()
    {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err("set EDL_PASSPHRASE (no terminal to ask for the passphrase)".into());
    }
    eprint!("wallet passphrase: ");
    let _ = std::io::stderr().flush();
    let echo_off = std::process::Command::new("stty")
        .arg("-echo")
        .status()
        .is_ok_and(|s| s.success());
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if echo_off {
        let _ = std::process::Command::new("stty").arg("echo").status();
    }
    eprintln!();
    read.map_err(|e| format!("cannot read the passphrase: {e}"))?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err("an empty passphrase is not allowed".into());
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_application_points_to_the_e_licence_only_once_it_is_held() {
        assert!(next_step(ApplicationPhase::Issued, true).contains("`show`"));
        // Issued, but the sync that brings it could not run yet (D157).
        let waiting = next_step(ApplicationPhase::Issued, false);
        assert!(
            waiting.contains("sync") && !waiting.contains("`show`"),
            "{waiting}"
        );
    }
}
