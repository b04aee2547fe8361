//! `edl verify`: check a presentation as a verifier would, offline with the root-signed
//! trust list and the status list, or online at the authority.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use edl_core::credential::{Audience, StatusList, TrustList};
use edl_core::net::{OnlineAnswer, OnlineVerifier};
use edl_core::present::render::scan_png;
use edl_core::present::{Form, Header, payload_from_text};
use edl_core::verify::{Policy, Rejection, StatusCheck, verify_offline_with_status};
use edl_core::wire::paths;
use serde_json::json;

use crate::exit::{self, Failure};
use crate::wallet::AudienceArg;
use crate::{http, lists, show};

/// Options of `edl verify`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  edl verify --payload 'EDL:…' --trust trust.bin --root KEY --status status.bin
  edl verify --png qr.png --authority URL --audience enforcement      # the police, offline
  edl verify --png qr.png --authority http://127.0.0.1:8088 --verifier-key KEY
  edl verify --code '123 4567' --licence 110101199003070001 --authority URL --verifier-key KEY

Offline needs the root-signed trust list (`edl authority trust-list --root KEY --out
trust.bin`), checked against the pinned root (--root or EDL_ROOT), and, to see a
suspension or a renewal at once, the signed status list (`edl authority status-list
--out status.bin`). An online QR or a manual code needs the authority and a verifier API
key.

Exit status: 0 verified and in force; 1 refused; 2 usage error; 3 the signatures hold but
the status list is stale or does not cover the licence: status unknown, check online; 4
the trust list or status list was refused (forged, expired, unsigned, another root); 5
the licence is not in force (suspended, superseded, revoked). Without --status, an
offline QR's status is the one signed into it (at most 72 h old).")]
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
    /// The signed trust list file (offline check of an offline QR), as `edl authority
    /// trust-list --out` saves it; checked against --root.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The pinned root public key (64 hex characters, or a file holding them) the trust
    /// list must be signed by.
    #[arg(long, env = "EDL_ROOT")]
    root: Option<String>,
    /// The signed status list file, as `edl authority status-list --out` saves it:
    /// refuses a suspended or superseded e-licence offline.
    #[arg(long, requires = "trust")]
    status: Option<PathBuf>,
    /// The authority's URL (online check; for an offline QR it fetches the trust list,
    /// and with --root the signed trust list and the status list).
    #[arg(long)]
    authority: Option<String>,
    /// The verifier's API key (online check). Also read from EDL_VERIFIER_KEY, which
    /// keeps it out of the process list (D137).
    #[arg(long, env = "EDL_VERIFIER_KEY", hide_env_values = true)]
    verifier_key: Option<String>,
    /// Who checks an offline QR: the view this verifier may see (D226). A business
    /// (`business`, the default) refuses a QR shown for the police as the wrong audience,
    /// even one a driver shows by mistake (D9); the police give `enforcement`. Online, the
    /// authority decides from the verifier key's class.
    #[arg(long, value_enum, default_value = "business")]
    audience: AudienceArg,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `edl verify`; `Err` is the one-line rejection with its exit status (also printed
/// as JSON on stdout with `--json`, unless an answer was already printed).
pub fn run(args: &Args) -> Result<(), Failure> {
    let result = check(args);
    if let Err(failure) = &result
        && args.json
        && !matches!(failure.code, exit::NOT_IN_FORCE | exit::STATUS_UNKNOWN)
    {
        println!(
            "{}",
            crate::files::json(
                &json!({"verified": false, "reason": failure.message, "exit": failure.code})
                    .to_string()
            )
        );
    }
    result
}

const NOT_IN_FORCE: &str = "licence not in force";

fn check(args: &Args) -> Result<(), Failure> {
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
            let now = lists::now()?;
            let (trust, status, too_old) = offline_lists(args, &runtime, now)?;
            let v = verify_offline_with_status(
                &payload,
                &trust,
                status.as_ref(),
                now,
                &Policy::new(args.audience.into()),
            )
            .map_err(|e| Failure::new(rejection_exit(&e), format!("rejected: {e}")))?;
            let mut v = v;
            if too_old.is_some() {
                v.status = StatusCheck::Unknown;
            }
            if args.json {
                println!("{}", offline_json(header.audience, &v.view, v.status));
            } else {
                println!("✓ verified offline ({} view)", header.audience);
                show::disclosed(&v.view, colour);
                println!("  {}", status_line(v.status));
            }
            if let Some(too_old) = too_old {
                return Err(Failure::new(
                    exit::STATUS_UNKNOWN,
                    format!("signatures valid, status unknown: check online ({too_old})"),
                ));
            }
            match v.status {
                StatusCheck::Unknown => Err(Failure::new(
                    exit::STATUS_UNKNOWN,
                    "signatures valid, status unknown: check online (the status list is stale \
                     or does not cover this e-licence)",
                )),
                StatusCheck::InForce | StatusCheck::NotChecked => Ok(()),
            }
        }
    }
}

/// The exit status of an offline rejection: a licence not in force (by the signed status
/// list, or by the status the view itself carries) is [`exit::NOT_IN_FORCE`], as `--help`
/// promises; anything else is [`exit::REFUSED`] (the CLI review: a view saying
/// "suspended" gave 1).
fn rejection_exit(e: &Rejection) -> u8 {
    match e {
        Rejection::ElicenceSuspended
        | Rejection::ElicenceSuperseded
        | Rejection::LicenceNotInForce(_) => exit::NOT_IN_FORCE,
        _ => exit::REFUSED,
    }
}

/// The issuing keys and the status list an offline QR is checked with: from files
/// checked against the pinned root, or fetched from the authority. A list fetched live
/// but made too long before (kept or replayed on the way) is not used, and the third
/// value says why: it says nothing of the status now, so the check ends "status unknown"
/// (exit 3), not "list refused" (D145).
fn offline_lists(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    now: u64,
) -> Result<(TrustList, Option<StatusList>, Option<String>), Failure> {
    let root = args.root.as_deref().map(lists::parse_root).transpose()?;
    match (&args.trust, &args.authority, root) {
        (Some(file), _, Some(root)) => {
            let trust = lists::open_trust(&root, &lists::read(file)?, now)?;
            let status = match &args.status {
                Some(file) => Some(lists::open_status(&lists::read(file)?, &trust, now)?),
                None => None,
            };
            Ok((trust.keys, status, None))
        }
        (Some(_), _, None) => Err("a trust list is checked against the pinned root: give \
                                   --root KEY (or EDL_ROOT), as `edl authority root create` printed it"
            .into()),
        (None, Some(url), Some(root)) => {
            let signed = runtime.block_on(http::bytes(url, paths::SIGNED_TRUST_LIST))?;
            let trust = lists::open_trust(&root, &signed, now)?;
            let status = runtime.block_on(http::bytes(url, paths::STATUS_LIST))?;
            let status = lists::open_status(&status, &trust, now)?;
            match lists::check_live_status(&status, now) {
                Ok(()) => Ok((trust.keys, Some(status), None)),
                Err(too_old) => Ok((trust.keys, None, Some(too_old.message))),
            }
        }
        // Without a pinned root, the list comes over the connection to the authority
        // the user named, and is only as trusted as that connection.
        (None, Some(url), None) => Ok((decode_trust(&runtime.block_on(http::trust_list(url))?)?, None, None)),
        (None, None, _) => Err("an offline QR needs --trust FILE --root KEY (or --authority URL)".into()),
    }
}

/// What the status list said, for people.
fn status_line(status: StatusCheck) -> &'static str {
    match status {
        StatusCheck::InForce => "✓ in force (fresh signed status list)",
        StatusCheck::Unknown => "? signatures valid, status unknown: check online",
        StatusCheck::NotChecked => {
            "status not checked against a status list (give --status FILE); the QR's own status holds"
        }
    }
}

/// What the driver showed, for the online check.
enum Shown<'a> {
    Qr(&'a [u8]),
    Barcode(&'a str),
    Manual(&'a str, &'a str),
}

async fn online(args: &Args, shown: Shown<'_>) -> Result<OnlineAnswer, Failure> {
    let (Some(url), Some(key)) = (&args.authority, &args.verifier_key) else {
        return Err("an online check needs --authority URL and --verifier-key KEY".into());
    };
    let verifier = OnlineVerifier::new(url, key).map_err(|e| Failure::from(e.to_string()))?;
    match shown {
        Shown::Qr(payload) => verifier.verify_qr(payload).await,
        Shown::Barcode(text) => verifier.verify_barcode(text).await,
        Shown::Manual(licence, code) => verifier.verify_manual(licence, code).await,
    }
    .map_err(|e| Failure::from(format!("rejected: {e}")))
}

fn report_online(online: &OnlineAnswer, json: bool, colour: bool) -> Result<(), Failure> {
    let r = &online.answer;
    if json {
        // The authority's answer as it came (the photo by its digest and URL), but for the
        // photo grant: with the API key it is the photo for minutes, and the photo was
        // fetched already; JSON output ends up in scripts' logs (D155).
        let mut answer = serde_json::to_value(r).map_err(|e| e.to_string())?;
        if let Some(fields) = answer.as_object_mut() {
            fields.remove("photo_grant");
        }
        println!(
            "{}",
            crate::files::json(&serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?)
        );
    } else {
        println!("✓ verified online at the authority");
        show::online(online, colour);
    }
    if r.in_force {
        Ok(())
    } else {
        Err(Failure::new(
            exit::NOT_IN_FORCE,
            match &r.not_in_force_reason {
                Some(reason) => format!("{NOT_IN_FORCE}: {reason}"),
                None => NOT_IN_FORCE.into(),
            },
        ))
    }
}

/// The first QR in the image that carries an EDL payload.
fn from_png(path: &Path) -> Result<Vec<u8>, Failure> {
    let bytes = crate::files::read(path, crate::files::MAX_INPUT_BYTES)?;
    let codes = scan_png(&bytes).map_err(|e| format!("rejected: {e}"))?;
    codes
        .into_iter()
        .find(|c| Header::of(c).is_ok())
        .ok_or_else(|| Failure::from("rejected: no EDL QR code found in the image"))
}

fn decode_trust(bytes: &[u8]) -> Result<TrustList, Failure> {
    TrustList::decode(bytes).map_err(|e| Failure::list(format!("not a usable trust list: {e}")))
}

/// The disclosed view as JSON for scripts.
fn offline_json(
    audience: Audience,
    view: &edl_core::credential::DisclosedView,
    status: StatusCheck,
) -> String {
    use edl_core::credential::DisclosedView;
    let mut v = match view {
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
    v["status_list"] = json!(match status {
        StatusCheck::InForce => "in_force",
        StatusCheck::Unknown => "unknown",
        StatusCheck::NotChecked => "not_checked",
    });
    crate::files::json(&serde_json::to_string_pretty(&v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use edl_core::licence::NotEligible;

    #[test]
    fn a_licence_not_in_force_exits_5_however_the_qr_says_so() {
        for e in [
            Rejection::ElicenceSuspended,
            Rejection::ElicenceSuperseded,
            Rejection::LicenceNotInForce(NotEligible::Suspended),
        ] {
            assert_eq!(rejection_exit(&e), exit::NOT_IN_FORCE, "{e:?}");
        }
        assert_eq!(rejection_exit(&Rejection::WindowExpired), exit::REFUSED);
    }
}
