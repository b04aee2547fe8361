//! The CLI driven as a user would: an authority on loopback (`edl authority serve`), the
//! registry's admin calls, a wallet in a temp dir, and verification offline and online —
//! including a QR PNG written by `edl wallet qr --png` and read back by `edl verify --png`.
//! Every refusal is one line on stderr and a non-zero exit, never a panic.

use crate::common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{ADMIN, IDENTITY_SECRET, Served};

const PASSPHRASE: &str = "correct horse battery staple";
const NUMBER: &str = "110101199003070001";
/// The authority's root seed (given to the server) and the public key verifiers pin.
const ROOT_SEED_HEX: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";

fn pinned_root() -> String {
    edl_core::crypto::SecretKey::from_seed([0xA0; 32])
        .public()
        .to_string()
}

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/photos")
        .join(name)
}

/// `edl authority serve` on a fresh database in `dir`, holding the root key verifiers pin:
/// the process and its URL.
fn start(dir: &Path) -> (Served, String) {
    let root = OsStr::new(ROOT_SEED_HEX);
    let (server, addr) = common::serve(
        dir.join("authority.db"),
        &[],
        &[("EDL_AUTHORITY_ROOT_KEY", root)],
    );
    (server, format!("http://{addr}"))
}

fn edl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(args)
        .env("EDL_ADMIN_TOKEN", ADMIN)
        .env("EDL_IDENTITY_SECRET", IDENTITY_SECRET)
        .env("EDL_PASSPHRASE", PASSPHRASE)
        .env("EDL_ROOT", pinned_root())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `edl` and returns stdout; the command must succeed.
fn ok(args: &[&str]) -> String {
    let out = edl(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "edl {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `edl`, which must fail with one line on stderr naming the reason; returns it.
fn refused(args: &[&str], expect: &str) -> String {
    refused_output(edl(args), args, expect)
}

fn refused_output(out: Output, args: &[&str], expect: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "edl {args:?} succeeded");
    assert!(
        !stderr.contains("panicked"),
        "edl {args:?} panicked: {stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with("edl: ") && last.contains(expect),
        "edl {args:?}: expected one line with {expect:?}, got {stderr:?}"
    );
    last
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn a_user_enrols_applies_presents_and_verifiers_check_offline_and_online() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start(dir.path());
    let url = url.as_str();
    let w = dir.path().join("wallet");
    let w = w.to_str().unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    // The registry adds the driver and gives out an activation code.
    let created = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "add-driver",
        "--licence",
        NUMBER,
        "--name",
        "张伟",
        "--sex",
        "male",
        "--dob",
        "1990-03-07",
        "--classes",
        "C1",
        "--first-issue",
        "2012-03-07",
        "--valid-from",
        "2018-03-07",
        "--valid-until",
        "2028-03-07",
        "--address",
        "北京市东城区东华门街道正义路2号",
        "--issued-by",
        "北京市公安局公安交通管理局",
    ]));
    let driver = created["driver_id"].as_u64().unwrap().to_string();
    let code = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "activation-code",
        &driver,
    ]));
    let code = code["code"].as_str().unwrap().to_owned();

    // The driver enrols, applies and sends a photo; the bad one never leaves the machine.
    refused(
        &[
            "wallet",
            "--dir",
            w,
            "enrol",
            "--authority",
            url,
            "--licence",
            NUMBER,
            "--code",
            "00000000",
        ],
        "refused",
    );
    // The activation code from the environment, out of the process list (AG-F8).
    let enrol = [
        "wallet",
        "--dir",
        w,
        "enrol",
        "--authority",
        url,
        "--licence",
        NUMBER,
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(enrol)
        .env("EDL_PASSPHRASE", PASSPHRASE)
        .env("EDL_ACTIVATION_CODE", &code)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "enrol with EDL_ACTIVATION_CODE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok(&["wallet", "--dir", w, "apply"]).contains("AwaitingPhoto"));
    let grey = photo("grey_background.jpg");
    let grey = grey.to_str().unwrap();
    refused(
        &["wallet", "--dir", w, "photo", "check", grey],
        "photo refused",
    );
    refused(
        &["wallet", "--dir", w, "photo", "submit", grey],
        "photo refused",
    );
    let clean = photo("clean.jpg");
    let clean = clean.to_str().unwrap();
    assert!(ok(&["wallet", "--dir", w, "photo", "check", clean]).contains("✓"));
    let submitted = ok(&["wallet", "--dir", w, "photo", "submit", clean]);
    let photo_id = submitted.split_whitespace().nth(1).unwrap().to_owned();

    // A reviewer looks at the photo (saved for them alone, AO-PH2/AO-PH6), approves it;
    // the wallet syncs and holds the licence.
    let photos = dir.path().join("review");
    std::fs::create_dir(&photos).unwrap();
    let review_list_saving_photos = || {
        json(&ok(&[
            "authority",
            "admin",
            "--authority",
            url,
            "review",
            "list",
            "--save-photos",
            photos.to_str().unwrap(),
        ]))
    };
    let queue = review_list_saving_photos();
    assert_eq!(queue["reviews"][0]["photo_id"].to_string(), photo_id);
    let saved = photos.join(format!("{photo_id}.jpg"));
    assert_eq!(
        queue["reviews"][0]["saved_to"].as_str(),
        saved.to_str(),
        "{queue}"
    );
    assert!(std::fs::read(&saved).unwrap().starts_with(&[0xFF, 0xD8]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "a driver's face is the reviewer's alone"
        );
    }
    let too_many = edl(&[
        "authority",
        "admin",
        "--authority",
        url,
        "review",
        "list",
        "--limit",
        "6",
    ]);
    assert!(!too_many.status.success());
    assert!(String::from_utf8_lossy(&too_many.stderr).contains("6 is not in 1..=5"));
    ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "review",
        "approve",
        &photo_id,
    ]);
    ok(&["wallet", "--dir", w, "sync"]);
    let main = json(&ok(&["wallet", "--dir", w, "--json", "show", "main"]));
    assert_eq!(main["licence_number"], NUMBER);
    assert!(ok(&["wallet", "--dir", w, "show", "supplementary"]).contains("0 of 12"));
    let messages = json(&ok(&["wallet", "--dir", w, "--json", "messages"]));
    assert!(!messages.as_array().unwrap().is_empty());

    // A photo change: the reviewer gets the photo on file beside it, to compare the
    // faces (D223), and rejects it; the e-licence keeps its photo.
    let mirrored = photo("clean_mirrored.jpg");
    let changed = ok(&[
        "wallet",
        "--dir",
        w,
        "photo",
        "submit",
        mirrored.to_str().unwrap(),
    ]);
    let change_id = changed.split_whitespace().nth(1).unwrap().to_owned();
    let queue = review_list_saving_photos();
    assert_eq!(queue["reviews"][0]["photo_id"].to_string(), change_id);
    let on_file = queue["reviews"][0]["on_file_saved_to"].as_str().unwrap();
    assert_eq!(
        on_file,
        photos
            .join(format!("{change_id}.on-file.jpg"))
            .to_str()
            .unwrap()
    );
    assert_eq!(
        std::fs::read(on_file).unwrap(),
        std::fs::read(&saved).unwrap(),
        "the photo on file is the one approved"
    );
    ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "review",
        "reject",
        &change_id,
        "--reason",
        "不是本人",
    ]);

    // Offline: a rental firm scans a PNG written by the wallet, with the trust list only.
    let trust = file("trust.json");
    ok(&[
        "authority",
        "trust-list",
        "--authority",
        url,
        "--out",
        &trust,
    ]);
    let png = file("business.png");
    ok(&[
        "wallet",
        "--dir",
        w,
        "qr",
        "--mode",
        "offline",
        "--audience",
        "business",
        "--png",
        &png,
    ]);
    let status = file("status.bin");
    ok(&[
        "authority",
        "status-list",
        "--authority",
        url,
        "--trust",
        &trust,
        "--out",
        &status,
    ]);
    let seen = ok(&[
        "verify", "--png", &png, "--trust", &trust, "--status", &status,
    ]);
    assert!(
        seen.contains("in force (fresh signed status list)"),
        "{seen}"
    );
    // Or both lists fetched at once from the authority, checked against the pinned root.
    let seen = ok(&["verify", "--png", &png, "--authority", url]);
    assert!(
        seen.contains("in force (fresh signed status list)"),
        "{seen}"
    );
    assert!(
        seen.contains("business view") && seen.contains("1101**********0001"),
        "{seen}"
    );
    assert!(
        !seen.contains("正义路"),
        "a business sees no address: {seen}"
    );
    let svg = file("qr.svg");
    let text = ok(&[
        "wallet", "--dir", w, "qr", "--mode", "offline", "--svg", &svg,
    ]);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    // A business given the police's offline QR by mistake sees nothing of it (D9, D226);
    // the police see both pages.
    let refused_business = edl(&["verify", "--payload", text.trim(), "--trust", &trust]);
    assert_eq!(refused_business.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused_business.stdout).into_owned()
        + &String::from_utf8_lossy(&refused_business.stderr);
    assert!(
        said.contains("presented for enforcement, this verifier is business"),
        "{said}"
    );
    assert!(!said.contains("正义路"), "{said}");
    let seen = json(&ok(&[
        "verify",
        "--audience",
        "enforcement",
        "--json",
        "--payload",
        text.trim(),
        "--trust",
        &trust,
    ]));
    assert_eq!(
        seen["licence"]["supplementary"]["address"],
        "北京市东城区东华门街道正义路2号"
    );

    // Online: the police scan the online QR PNG and take a manual code.
    let police = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "add-verifier",
        "--name",
        "police",
        "--class",
        "enforcement",
    ]));
    let key = police["api_key"].as_str().unwrap().to_owned();
    let png = file("online.png");
    ok(&["wallet", "--dir", w, "qr", "--png", &png]);
    // A link planted at the path is replaced, not written through, and the QR (an
    // offline one carries the whole licence) is the driver's alone (the CLI review).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let victim = file("victim.txt");
        std::fs::write(&victim, b"keep me").unwrap();
        let link = file("link.png");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        ok(&[
            "wallet", "--dir", w, "qr", "--mode", "offline", "--png", &link,
        ]);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        let written = std::fs::symlink_metadata(&link).unwrap();
        assert!(written.file_type().is_file());
        assert_eq!(written.permissions().mode() & 0o777, 0o600);
    }
    let seen = ok(&[
        "verify",
        "--png",
        &png,
        "--authority",
        url,
        "--verifier-key",
        &key,
    ]);
    assert!(seen.contains("in force: yes"), "{seen}");
    let barcode = file("barcode.png");
    let digits = ok(&["wallet", "--dir", w, "barcode", "--png", &barcode]);
    let seen = json(&ok(&[
        "verify",
        "--json",
        "--barcode",
        digits.trim(),
        "--authority",
        url,
        "--verifier-key",
        &key,
    ]));
    assert_eq!(seen["in_force"], true, "{seen}");
    // The answer as it came, but for the photo grant, which with the key is the photo for
    // minutes and has no business in a script's log (D155).
    assert!(seen["photo_digest"].is_string(), "{seen}");
    assert!(seen.get("photo_grant").is_none(), "{seen}");
    assert!(std::fs::read(&barcode).unwrap().starts_with(b"\x89PNG"));
    let manual = ok(&["wallet", "--dir", w, "code"]);
    // The API key from the environment, out of the process list (D137).
    let out = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args([
            "verify",
            "--code",
            manual.trim(),
            "--licence",
            NUMBER,
            "--authority",
            url,
        ])
        .env("EDL_VERIFIER_KEY", &key)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{seen}");
    assert!(seen.contains("enforcement view"), "{seen}");

    // Every refusal: one line, non-zero exit.
    refused(
        &[
            "verify",
            "--payload",
            "EDL:not-a-payload",
            "--trust",
            &trust,
        ],
        "rejected",
    );
    refused(&["verify", "--payload", text.trim()], "needs --trust");
    refused(
        &["verify", "--png", &png, "--trust", &trust],
        "needs --authority",
    );
    refused(
        &[
            "verify",
            "--png",
            &png,
            "--authority",
            url,
            "--verifier-key",
            "wrong",
        ],
        "rejected",
    );
    refused(
        &["verify", "--png", &file("missing.png"), "--trust", &trust],
        "cannot read",
    );
    refused(&["verify", "--png", clean, "--trust", &trust], "rejected");
    refused(
        &["verify", "--png", &barcode, "--trust", &trust],
        "rejected",
    );
    refused(
        &[
            "verify",
            "--code",
            "0000000",
            "--licence",
            NUMBER,
            "--authority",
            url,
            "--verifier-key",
            &key,
        ],
        "rejected",
    );
    refused(
        &["verify", "--payload", text.trim(), "--trust", clean],
        "trust list",
    );
    refused(
        &[
            "verify",
            "--payload",
            text.trim(),
            "--authority",
            "not a url",
        ],
        "",
    );
    let other = dir.path().join("other-wallet");
    refused(
        &["wallet", "--dir", other.to_str().unwrap(), "show"],
        "no licence",
    );
    let wrong = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["wallet", "--dir", w, "show"])
        .env("EDL_PASSPHRASE", "wrong passphrase")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    refused_output(
        wrong,
        &["wallet (wrong passphrase)"],
        "cannot open the wallet",
    );
    let no_pass = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["wallet", "--dir", w, "show"])
        .env_remove("EDL_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    refused_output(no_pass, &["wallet (no passphrase)"], "EDL_PASSPHRASE");
    let no_token = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["authority", "admin", "--authority", url, "review", "list"])
        .env_remove("EDL_ADMIN_TOKEN")
        .output()
        .unwrap();
    refused_output(no_token, &["admin (no token)"], "EDL_ADMIN_TOKEN");

    // A violation shows after a sync; a suspension makes the online check fail.
    ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "violation",
        &driver,
        "--date",
        "2026-11-01",
        "--place",
        "北京市朝阳区建国路",
        "--act",
        "违反禁止标线指示",
        "--points",
        "3",
        "--fine",
        "200",
    ]);
    ok(&["wallet", "--dir", w, "sync"]);
    let sup = json(&ok(&[
        "wallet",
        "--dir",
        w,
        "--json",
        "show",
        "supplementary",
    ]));
    assert_eq!(sup["cycle"]["points"], 3);
    ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "status",
        &driver,
        "D",
    ]);
    ok(&["wallet", "--dir", w, "qr", "--png", &png]);
    refused(
        &[
            "verify",
            "--png",
            &png,
            "--authority",
            url,
            "--verifier-key",
            &key,
        ],
        "not in force",
    );
    let log = json(&ok(&["wallet", "--dir", w, "--json", "log"]));
    assert!(log.as_array().unwrap().len() >= 2, "{log}");

    // A renewal: the old QR is refused, the wallet re-applies and the new one verifies.
    ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "status",
        &driver,
        "A",
    ]);
    ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "renew",
        &driver,
        "--valid-until",
        "2034-03-07",
    ]);
    refused(
        &[
            "verify",
            "--png",
            &png,
            "--authority",
            url,
            "--verifier-key",
            &key,
        ],
        "elicence_superseded",
    );
    ok(&["wallet", "--dir", w, "sync"]);
    refused(&["wallet", "--dir", w, "code"], "no e-licence");
    assert!(ok(&["wallet", "--dir", w, "apply"]).contains("Issued"));
    ok(&["wallet", "--dir", w, "qr", "--png", &png]);
    ok(&[
        "verify",
        "--png",
        &png,
        "--authority",
        url,
        "--verifier-key",
        &key,
    ]);
    let main = json(&ok(&["wallet", "--dir", w, "--json", "show", "main"]));
    assert_eq!(main["valid_until"], "2034-03-07");

    // The admin API refuses bad input and a wrong token in one line.
    refused(
        &[
            "authority",
            "admin",
            "--authority",
            url,
            "status",
            &driver,
            "XYZ",
        ],
        "refused",
    );
    refused(
        &["authority", "admin", "--authority", url, "driver", "999"],
        "refused",
    );
    let wrong = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["authority", "admin", "--authority", url, "review", "list"])
        .env("EDL_ADMIN_TOKEN", "wrong")
        .output()
        .unwrap();
    refused_output(wrong, &["admin (wrong token)"], "refused");
    refused(
        &[
            "authority",
            "admin",
            "--authority",
            "http://127.0.0.1:9",
            "review",
            "list",
        ],
        "cannot be reached",
    );
    let rotated = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "rotate-key",
    ]));
    assert!(rotated["signer_kid"].is_u64(), "{rotated}");

    // The accounts listed (D196): the police account by its name, with no key.
    let police_id = police["verifier_id"].as_u64().unwrap().to_string();
    let listed = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "verifiers",
        "--limit",
        "500",
    ]));
    let account = listed["verifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["verifier_id"] == police["verifier_id"])
        .unwrap_or_else(|| panic!("listed: {listed}"))
        .clone();
    assert_eq!(
        (&account["name"], &account["class"], &account["revoked_at"]),
        (
            &serde_json::json!("police"),
            &serde_json::json!("enforcement"),
            &serde_json::Value::Null
        )
    );
    assert!(!listed.to_string().contains(&key), "no key listed");
    // From the key, kept in a file, to its account (D196).
    let key_file = file("police.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let found = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "verifiers",
        "--key-file",
        &key_file,
    ]));
    assert_eq!(
        found["verifiers"].as_array().map(|a| a.len()),
        Some(1),
        "{found}"
    );
    assert_eq!(found["verifiers"][0]["verifier_id"], police["verifier_id"]);
    // A file that holds no key is refused, not looked up as an unknown one.
    let not_a_key = file("notes.txt");
    std::fs::write(&not_a_key, "police, enforcement\n").unwrap();
    refused(
        &[
            "authority",
            "admin",
            "--authority",
            url,
            "verifiers",
            "--key-file",
            &not_a_key,
        ],
        "does not hold a verifier API key",
    );

    // The police account revoked (D194): its key is refused from then on, and the answer
    // says whose account it was.
    let revoked = json(&ok(&[
        "authority",
        "admin",
        "--authority",
        url,
        "revoke-verifier",
        &police_id,
    ]));
    assert!(revoked["revoked_at"].is_u64(), "{revoked}");
    assert_eq!(revoked["name"], "police", "{revoked}");
    refused(
        &[
            "verify",
            "--png",
            &png,
            "--authority",
            url,
            "--verifier-key",
            &key,
        ],
        "rejected",
    );
}
