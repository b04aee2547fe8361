//! `edl verify`: check a presentation as a verifier would, offline with a trust list or
//! online at the authority.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use edl_core::credential::{Audience, TrustList};
use edl_core::net::{OnlineAnswer, OnlineVerifier};
use edl_core::present::render::scan_png;
use edl_core::present::{Form, Header, payload_from_text};
use edl_core::verify::{Policy, verify_offline};
use edl_core::wire::Base64;
use serde_json::{Value, json};

use crate::http;
use crate::show;

/// Options of `edl verify`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  edl verify --payload 'EDL:…' --trust trust.json
  edl verify --png qr.png --authority http://127.0.0.1:8088 --verifier-key KEY
  edl verify --code '123 4567' --licence 110101199003070001 --authority URL --verifier-key KEY

Offline needs the trust list (`edl authority trust-list --authority URL --out trust.json`);
an online QR or a manual code needs the authority and a verifier API key. The exit status
is 0 only when the presentation verified and the licence is in force.")]
pub struct Args {
    /// The QR payload as text (`EDL:…`), as `edl wallet qr` prints it.
    #[arg(long, conflicts_with_all = ["png", "code", "barcode"], required_unless_present_any = ["png", "code", "barcode"])]
    payload: Option<String>,
    /// A PNG image holding the QR.
    #[arg(long, conflicts_with_all = ["code", "barcode"])]
    png: Option<PathBuf>,
    /// The barcode's digits (32), as `edl wallet barcode` prints them; checked online.
    #[arg(long, conflicts_with = "code")]
    barcode: Option<String>,
    /// A manual code (7 digits, spaces allowed), checked online.
    #[arg(long, requires = "licence")]
    code: Option<String>,
    /// The licence number the manual code is for.
    #[arg(long)]
    licence: Option<String>,
    /// The trust list file (offline check of an offline QR).
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The authority's URL (online check; also fetches the trust list for an offline QR).
    #[arg(long)]
    authority: Option<String>,
    /// The verifier's API key (online check).
    #[arg(long)]
    verifier_key: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `edl verify`; `Err` is the one-line rejection (also printed as JSON on stdout with
/// `--json`, unless the authority's answer was already printed).
pub fn run(args: &Args) -> Result<(), String> {
    let result = check(args);
    if let Err(reason) = &result
        && args.json
        && !reason.starts_with(NOT_IN_FORCE)
    {
        println!("{}", json!({"verified": false, "reason": reason}));
    }
    result
}

const NOT_IN_FORCE: &str = "licence not in force";

fn check(args: &Args) -> Result<(), String> {
    let colour = !args.json && std::io::stdout().is_terminal();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    if let Some(code) = &args.code {
        let licence = args.licence.as_deref().unwrap_or_default();
        let r = runtime.block_on(online(args, Shown::Manual(licence, code)))?;
        return report_online(&r, args.json, colour);
    }
    if let Some(text) = &args.barcode {
        let r = runtime.block_on(online(args, Shown::Barcode(text)))?;
        return report_online(&r, args.json, colour);
    }
    let payload = match (&args.payload, &args.png) {
        (Some(text), _) => payload_from_text(text.trim()).map_err(|e| format!("rejected: {e}"))?,
        (None, Some(png)) => from_png(png)?,
        (None, None) => return Err("give --payload, --png or --code".into()),
    };
    let header = Header::of(&payload).map_err(|e| format!("rejected: {e}"))?;
    match header.form {
        Form::Online => {
            let r = runtime.block_on(online(args, Shown::Qr(&payload)))?;
            report_online(&r, args.json, colour)
        }
        Form::Offline => {
            let trust = match (&args.trust, &args.authority) {
                (Some(file), _) => read_trust(file)?,
                (None, Some(url)) => decode_trust(&runtime.block_on(http::trust_list(url))?)?,
                (None, None) => {
                    return Err("an offline QR needs --trust FILE (or --authority URL)".into());
                }
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| "the clock is before 1970")?
                .as_secs();
            let v = verify_offline(&payload, &trust, now, &Policy::new(header.audience))
                .map_err(|e| format!("rejected: {e}"))?;
            if args.json {
                println!("{}", offline_json(header.audience, &v.view));
            } else {
                println!("✓ verified offline ({} view)", header.audience);
                show::disclosed(&v.view, colour);
            }
            Ok(())
        }
    }
}

/// What the driver showed, for the online check.
enum Shown<'a> {
    Qr(&'a [u8]),
    Barcode(&'a str),
    Manual(&'a str, &'a str),
}

async fn online(args: &Args, shown: Shown<'_>) -> Result<OnlineAnswer, String> {
    let (Some(url), Some(key)) = (&args.authority, &args.verifier_key) else {
        return Err("an online check needs --authority URL and --verifier-key KEY".into());
    };
    let verifier = OnlineVerifier::new(url, key).map_err(|e| e.to_string())?;
    match shown {
        Shown::Qr(payload) => verifier.verify_qr(payload).await,
        Shown::Barcode(text) => verifier.verify_barcode(text).await,
        Shown::Manual(licence, code) => verifier.verify_manual(licence, code).await,
    }
    .map_err(|e| format!("rejected: {e}"))
}

fn report_online(online: &OnlineAnswer, json: bool, colour: bool) -> Result<(), String> {
    let r = &online.answer;
    if json {
        // The authority's answer as it came (the photo by its digest and URL).
        println!(
            "{}",
            serde_json::to_string_pretty(r).map_err(|e| e.to_string())?
        );
    } else {
        println!("✓ verified online at the authority");
        show::online(online, colour);
    }
    if r.in_force {
        Ok(())
    } else {
        Err(match &r.not_in_force_reason {
            Some(reason) => format!("{NOT_IN_FORCE}: {reason}"),
            None => NOT_IN_FORCE.into(),
        })
    }
}

/// The first QR in the image that carries an EDL payload.
fn from_png(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let codes = scan_png(&bytes).map_err(|e| format!("rejected: {e}"))?;
    codes
        .into_iter()
        .find(|c| Header::of(c).is_ok())
        .ok_or_else(|| "rejected: no EDL QR code found in the image".to_owned())
}

/// A trust list file: the JSON answer of `GET /v1/trust-list` or the encoded list itself.
pub fn read_trust(path: &Path) -> Result<TrustList, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        let b64: Base64 = serde_json::from_value(v["trust_list"].clone())
            .map_err(|_| "not a usable trust list: no `trust_list` field".to_owned())?;
        return decode_trust(b64.as_bytes());
    }
    decode_trust(&bytes)
}

fn decode_trust(bytes: &[u8]) -> Result<TrustList, String> {
    TrustList::decode(bytes).map_err(|e| format!("not a usable trust list: {e}"))
}

/// The disclosed view as JSON for scripts.
fn offline_json(audience: Audience, view: &edl_core::credential::DisclosedView) -> String {
    use edl_core::credential::DisclosedView;
    let v = match view {
        DisclosedView::Enforcement(e) => json!({
            "verified": true,
            "audience": audience.to_string(),
            "licence": e.licence,
        }),
        DisclosedView::Business(b) => json!({
            "verified": true,
            "audience": audience.to_string(),
            "name": b.name,
            "masked_number": b.masked_number,
            "classes": b.classes.to_string(),
            "valid_from": b.valid_from.to_string(),
            "valid_until": b.valid_until.to_string(),
            "status": b.status.letters(),
        }),
    };
    serde_json::to_string_pretty(&v).unwrap_or_default()
}
