//! `edl authority admin …`: the registry's admin API over HTTP, with the token from
//! EDL_ADMIN_TOKEN. Every answer is printed as JSON (photo bytes shortened to their size);
//! a review decision as the `ReviewDecision` it is, nothing more (D146).

use std::path::PathBuf;

use edl_core::wire::{Base64, ReviewDecision, paths};
use reqwest::Method;
use serde_json::{Value, json};

use crate::http::Admin;

/// Options of `edl authority admin`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  export EDL_ADMIN_TOKEN=…
  edl authority admin --authority http://127.0.0.1:8088 add-driver --licence 110101199003070001 \\
      --name 张伟 --sex male --dob 1990-03-07 --classes C1 --first-issue 2012-03-07 \\
      --valid-from 2018-03-07 --valid-until 2028-03-07 --address '北京市…' --issued-by '北京市公安局公安交通管理局'
  edl authority admin --authority URL activation-code 1
  edl authority admin --authority URL violation 1 --date 2026-11-24 --place '…' --act '…' --points 3 --fine 200
  edl authority admin --authority URL status 1 D
  edl authority admin --authority URL review list --save-photos DIR
  edl authority admin --authority URL add-verifier --name 'Traffic police' --class enforcement
  edl authority admin --authority URL verifiers --after 0 --limit 100
  edl authority admin --authority URL verifiers --key-file leaked-key.txt
  edl authority admin --authority URL revoke-verifier 3")]
pub struct Args {
    /// The authority's URL.
    #[arg(long, default_value = "http://127.0.0.1:8088")]
    authority: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Register a driver's paper licence.
    AddDriver {
        #[arg(long)]
        licence: String,
        #[arg(long)]
        name: String,
        /// male or female.
        #[arg(long)]
        sex: String,
        #[arg(long, default_value = "中国")]
        nationality: String,
        /// Date of birth, YYYY-MM-DD.
        #[arg(long)]
        dob: String,
        /// Vehicle classes, e.g. "C1" or "A2 D".
        #[arg(long)]
        classes: String,
        #[arg(long)]
        first_issue: String,
        #[arg(long)]
        valid_from: String,
        #[arg(long)]
        valid_until: String,
        #[arg(long)]
        address: String,
        /// The issuing authority.
        #[arg(long)]
        issued_by: String,
        /// A photo on file (JPEG or PNG).
        #[arg(long)]
        photo: Option<PathBuf>,
    },
    /// Show a driver.
    Driver { driver: u64 },
    /// Make an activation code for a driver's app.
    ActivationCode { driver: u64 },
    /// Record a violation.
    Violation {
        driver: u64,
        /// Day of the offence, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        #[arg(long)]
        place: String,
        #[arg(long)]
        act: String,
        #[arg(long)]
        points: u8,
        /// Fine in yuan.
        #[arg(long, default_value_t = 0)]
        fine: u32,
        #[arg(long)]
        handled: bool,
    },
    /// Set the status letters (D suspend, F revoke, A normal, …).
    Status { driver: u64, status: String },
    /// Renew a licence (at least one change).
    Renew {
        driver: u64,
        #[arg(long)]
        classes: Option<String>,
        #[arg(long)]
        valid_from: Option<String>,
        #[arg(long)]
        valid_until: Option<String>,
        #[arg(long)]
        issued_by: Option<String>,
    },
    /// Issue the e-licence at the counter.
    CounterIssue {
        driver: u64,
        /// A photo taken at the counter.
        #[arg(long)]
        photo: Option<PathBuf>,
    },
    /// The photo review queue.
    #[command(subcommand)]
    Review(Review),
    /// Register a verifier and print its API key.
    AddVerifier {
        #[arg(long)]
        name: String,
        /// enforcement, insurer, rental or employer.
        #[arg(long)]
        class: String,
    },
    /// List verifier accounts by id, revoked ones with their time (D196): a page at a time.
    Verifiers {
        /// Accounts whose id is above this; the next page is after the last id shown.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many (1 to 500).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Only the account of the API key in this file (a leaked key, say): its SHA-256
        /// is sent, never the key.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Revoke a verifier: its API key is refused from then on (D194). Prints whose
    /// account it was.
    RevokeVerifier { verifier: u64 },
    /// Rotate the issuer key.
    RotateKey,
}

#[derive(clap::Subcommand)]
enum Review {
    /// Photos waiting for a reviewer, oldest first.
    List {
        /// At most this many (1 to 5): five of the largest photos a wallet may send stay
        /// under the 16 MiB this tool reads of an answer (AO-PH6: six did not).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=5))]
        limit: u32,
        /// Saves each photo as DIR/<photo id>.jpg (or .png), readable by you alone, to look
        /// at before deciding; the list names each file.
        #[arg(long, value_name = "DIR")]
        save_photos: Option<PathBuf>,
    },
    /// Approve a photo.
    Approve { photo: u64 },
    /// Reject a photo with a reason the driver sees.
    Reject {
        photo: u64,
        #[arg(long)]
        reason: String,
        /// A deliberately wrong photo: stops the e-licence.
        #[arg(long)]
        malicious: bool,
    },
}

/// Runs one admin call and prints the answer.
pub fn run(args: Args) -> Result<(), String> {
    let token = std::env::var("EDL_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or("set EDL_ADMIN_TOKEN to the authority's admin token")?;
    let admin = Admin::new(&args.authority, &token)?;
    let photo = |p: &Option<PathBuf>| -> Result<Option<String>, String> {
        p.as_ref()
            .map(|p| {
                crate::files::read(p, crate::files::MAX_INPUT_BYTES).map(|b| Base64::encode(&b))
            })
            .transpose()
    };
    let id = |path: &str, id: u64| paths::with_id(path, id);
    let decides = matches!(
        args.command,
        Command::Review(Review::Approve { .. } | Review::Reject { .. })
    );
    // The key hash a `verifiers --key-file` list must say it was filtered by.
    let mut filtered_by = None;
    // Where `review list --save-photos` puts the photos.
    let mut saving = None;
    let (method, path, body) = match args.command {
        Command::AddDriver {
            licence,
            name,
            sex,
            nationality,
            dob,
            classes,
            first_issue,
            valid_from,
            valid_until,
            address,
            issued_by,
            photo: p,
        } => {
            let mut body = json!({
                "licence_number": licence, "name": name, "sex": sex, "nationality": nationality,
                "date_of_birth": dob, "classes": classes, "first_issue": first_issue,
                "valid_from": valid_from, "valid_until": valid_until, "address": address,
                "issuing_authority": issued_by,
            });
            if let Some(p) = photo(&p)? {
                body["photo"] = json!(p);
            }
            (Method::POST, paths::DRIVERS.to_owned(), body)
        }
        Command::Driver { driver } => (Method::GET, id(paths::DRIVER, driver), Value::Null),
        Command::ActivationCode { driver } => (
            Method::POST,
            id(paths::ACTIVATION_CODE, driver),
            Value::Null,
        ),
        Command::Violation {
            driver,
            date,
            place,
            act,
            points,
            fine,
            handled,
        } => (
            Method::POST,
            id(paths::VIOLATIONS, driver),
            json!({"date": date, "place": place, "act": act, "points": points,
                   "fine_yuan": fine, "handled": handled}),
        ),
        Command::Status { driver, status } => (
            Method::PUT,
            id(paths::STATUS, driver),
            json!({ "status": status }),
        ),
        Command::Renew {
            driver,
            classes,
            valid_from,
            valid_until,
            issued_by,
        } => (
            Method::POST,
            id(paths::RENEW, driver),
            json!({"classes": classes, "valid_from": valid_from, "valid_until": valid_until,
                   "issuing_authority": issued_by}),
        ),
        Command::CounterIssue { driver, photo: p } => (
            Method::POST,
            id(paths::COUNTER_ISSUE, driver),
            json!({ "photo": photo(&p)? }),
        ),
        Command::Review(Review::List { limit, save_photos }) => {
            saving = save_photos;
            (
                Method::GET,
                format!("{}?limit={limit}", paths::REVIEWS),
                Value::Null,
            )
        }
        Command::Review(Review::Approve { photo }) => {
            (Method::POST, id(paths::APPROVE, photo), Value::Null)
        }
        Command::Review(Review::Reject {
            photo,
            reason,
            malicious,
        }) => (
            Method::POST,
            id(paths::REJECT, photo),
            json!({"reason": reason, "malicious": malicious}),
        ),
        Command::AddVerifier { name, class } => (
            Method::POST,
            paths::VERIFIERS.to_owned(),
            json!({"name": name, "class": class}),
        ),
        Command::Verifiers {
            after,
            limit,
            key_file,
        } => {
            let mut path = format!("{}?after={after}&limit={limit}", paths::VERIFIERS);
            if let Some(file) = key_file {
                let hash = key_sha256(&file)?;
                path.push_str(&format!("&key_sha256={hash}"));
                filtered_by = Some(hash);
            }
            (Method::GET, path, Value::Null)
        }
        Command::RevokeVerifier { verifier } => (
            Method::POST,
            id(paths::REVOKE_VERIFIER, verifier),
            Value::Null,
        ),
        Command::RotateKey => (Method::POST, paths::ROTATE_KEY.to_owned(), Value::Null),
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let mut answer = runtime.block_on(admin.call(method, &path, body))?;
    if decides {
        answer = decision(answer)?;
    }
    if let Some(hash) = filtered_by
        && answer["key_sha256"].as_str() != Some(hash.as_str())
    {
        // An authority older than the filter lists a page of every account instead: not
        // the key's account, so nothing of it is shown (twenty-fifth review, AF-F2).
        return Err(
            "the authority did not look the key up (an authority older than this command?); \
             nothing is shown"
                .into(),
        );
    }
    if let Some(dir) = saving {
        save_photos(&mut answer, &dir)?;
        runtime.block_on(save_photos_on_file(&admin, &mut answer, &dir))?;
    }
    shorten_photos(&mut answer);
    println!(
        "{}",
        crate::files::json(&serde_json::to_string_pretty(&answer).map_err(|e| e.to_string())?)
    );
    Ok(())
}

/// The SHA-256, in hex, of the verifier API key in `file` (surrounding whitespace, a
/// trailing newline say, is not part of it).
fn key_sha256(file: &std::path::Path) -> Result<String, String> {
    let bytes = zeroize::Zeroizing::new(crate::files::read(file, 1 << 10)?);
    let key = std::str::from_utf8(&bytes)
        .map(str::trim)
        .map_err(|_| format!("{} does not hold an API key", file.display()))?;
    // The form the authority gives its keys (`edlv_` and 64 hex digits): a wrong file is
    // told apart from a key the authority does not know (twenty-fifth review, AF-F6).
    let is_key = key
        .strip_prefix("edlv_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !is_key {
        return Err(format!(
            "{} does not hold a verifier API key (edlv_ and 64 hex digits)",
            file.display()
        ));
    }
    Ok(hex::encode(edl_core::crypto::sha256(key.as_bytes())))
}

/// A review decision's answer as the decision alone: its fields and nothing else that
/// came, or a refusal when it is not a decision (an authority from before D146 answered
/// with the whole driver, which a reviewer is not to read). The authority accepted the
/// call either way, so the refusal says so; it quotes nothing of the answer (D140).
fn decision(answer: Value) -> Result<Value, String> {
    let d: ReviewDecision = serde_json::from_value(answer).map_err(|_| {
        "the authority accepted the decision, but its answer is not a review decision".to_owned()
    })?;
    serde_json::to_value(d).map_err(|e| e.to_string())
}

/// Writes each review's photo to `dir` as `<photo id>.jpg` or `.png` (0600: a driver's
/// face), and names the file in the review as `saved_to`.
fn save_photos(answer: &mut Value, dir: &std::path::Path) -> Result<(), String> {
    let Some(reviews) = answer["reviews"].as_array_mut() else {
        return Ok(());
    };
    for review in reviews {
        let (Some(id), Some(b64)) = (review["photo_id"].as_u64(), review["photo"].as_str()) else {
            continue;
        };
        let bytes = edl_core::wire::Base64::decode(b64)
            .map_err(|_| format!("photo {id} in the answer is not base64"))?;
        let path = save_photo(dir, &id.to_string(), &bytes)?;
        review["saved_to"] = json!(path.display().to_string());
    }
    Ok(())
}

/// Beside each photo in review, the driver's photo on file when there is one (a change),
/// to compare the faces (D223):
/// `DIR/<photo id>.on-file.jpg` (or `.png`), named in the review as `on_file_saved_to`.
async fn save_photos_on_file(
    admin: &crate::http::Admin,
    answer: &mut Value,
    dir: &std::path::Path,
) -> Result<(), String> {
    let Some(reviews) = answer["reviews"].as_array_mut() else {
        return Ok(());
    };
    for review in reviews {
        let Some(id) = review["photo_id"].as_u64() else {
            continue;
        };
        let path = paths::with_id(paths::REVIEW_ON_FILE, id);
        let max = edl_core::wire::photo::MAX_PHOTO_BYTES;
        if let Some(bytes) = admin.get_bytes(&path, max).await? {
            let saved = save_photo(dir, &format!("{id}.on-file"), &bytes)?;
            review["on_file_saved_to"] = json!(saved.display().to_string());
        }
    }
    Ok(())
}

/// Writes `bytes` as `DIR/<name>.jpg` (or `.png`), 0600; refuses a name that exists and
/// is not a regular file.
fn save_photo(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let ext = if bytes.starts_with(b"\x89PNG") {
        "png"
    } else {
        "jpg"
    };
    let path = dir.join(format!("{name}.{ext}"));
    // Only a new file, or a regular one replaced whole: `files::write` writes through a
    // device or a pipe already at the path (for `/dev/stdout`), even by a link, and a
    // FIFO planted at a guessed name in a shared directory would get the face, or hang
    // the tool (the review of D217, T-1).
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Err(format!(
            "{} is not a regular file: nothing saved there",
            path.display()
        ));
    }
    crate::files::write(&path, bytes, 0o600)?;
    Ok(path)
}

/// Replaces every `photo` string (base64 bytes) with its length, so answers stay readable.
fn shorten_photos(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "photo" && v.is_string() {
                    let len = v.as_str().map_or(0, str::len);
                    *v = json!(format!("<{} base64 chars>", len));
                } else {
                    shorten_photos(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(shorten_photos),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FIFO, or a link to one, at a photo's name is refused, not written through: the
    /// face would go to whoever reads the pipe, or the tool would hang (T-1).
    #[cfg(unix)]
    #[test]
    fn saving_photos_does_not_write_through_a_fifo_or_a_link_at_a_photo_s_name() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("7.jpg");
        crate::files::mkfifo(&fifo);
        std::os::unix::fs::symlink(&fifo, dir.path().join("8.jpg")).unwrap();
        for id in [7, 8] {
            let mut answer = json!({"reviews": [{"photo_id": id, "photo": "/9j/4AAQ"}]});
            let (tx, rx) = std::sync::mpsc::channel();
            let at = dir.path().to_owned();
            std::thread::spawn(move || {
                let _ = tx.send(save_photos(&mut answer, &at));
            });
            let saved = rx
                .recv_timeout(std::time::Duration::from_secs(10))
                .unwrap_or_else(|_| {
                    // Let the blocked writer go before failing.
                    let _ = std::fs::File::open(&fifo);
                    panic!("{id}: saving blocked on the FIFO")
                });
            assert!(saved.unwrap_err().contains("not a regular file"), "{id}");
        }
        // A new name is saved, 0600.
        let mut answer = json!({"reviews": [{"photo_id": 9, "photo": "/9j/4AAQ"}]});
        save_photos(&mut answer, dir.path()).unwrap();
        assert_eq!(
            answer["reviews"][0]["saved_to"],
            json!(dir.path().join("9.jpg").display().to_string())
        );
    }

    #[test]
    fn photo_bytes_in_an_answer_are_shown_as_their_size() {
        let mut v = json!({"reviews": [{"photo_id": 1, "photo": "QUJD"}], "photo": null});
        shorten_photos(&mut v);
        assert_eq!(v["reviews"][0]["photo"], "<4 base64 chars>");
        assert_eq!(v["reviews"][0]["photo_id"], 1);
        assert!(v["photo"].is_null());
    }

    #[test]
    fn a_review_decision_is_printed_as_the_decision_alone() {
        let d = json!({"photo_id": 7, "driver_id": 3, "kind": "application",
                       "outcome": "rejected", "reason": "背景不是白色",
                       "phase": "awaiting_photo", "decided_at": 1_790_000_000_u64});
        let mut with_more = d.clone();
        with_more["licence"] = json!({"main": {"name": "张伟"}});
        assert_eq!(decision(with_more).unwrap(), d);
        let driver = json!({"driver_id": 3, "licence": {}, "application": {}});
        assert!(
            decision(driver)
                .unwrap_err()
                .contains("not a review decision")
        );
    }
}
