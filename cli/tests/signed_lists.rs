//! The root key and the signed lists through the real `edl` binary against a real
//! authority on loopback (D94): `edl authority root create` and `root sign`,
//! `edl authority trust-list --out` and `status-list --out` saving exactly what the
//! server signed, a refresh refusing an older or foreign list and following a root
//! rotation; and a closed stdout is no internal error.

use crate::common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use edl_core::credential::{StatusList, TrustList, TrustListContents, open_trust_list};
use edl_core::crypto::{PublicKey, SecretKey};

use common::{Served, printed};

/// `edl authority serve` on a fresh database in `dir`, with the root key file `root` if
/// any: the process and its address (`127.0.0.1:PORT`).
fn start(dir: &Path, root: Option<&Path>) -> (Served, String) {
    let envs: Vec<(&str, &OsStr)> = root
        .map(|r| ("EDL_AUTHORITY_ROOT_KEY_FILE", r.as_os_str()))
        .into_iter()
        .collect();
    common::serve(dir.join("authority.db"), &[], &envs)
}

fn edl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(args)
        .env_remove("EDL_ROOT")
        .env_remove("EDL_AUTHORITY_ROOT_KEY")
        .env_remove("EDL_AUTHORITY_ROOT_KEY_FILE")
        .output()
        .unwrap()
}

/// Runs `edl`, which must exit with `code` and print `words`; returns stdout.
fn expect(args: &[&str], code: i32, words: &str) -> String {
    let out = edl(args);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(code), "edl {args:?}: {text}");
    assert!(
        text.contains(words),
        "edl {args:?}: expected {words:?}: {text}"
    );
    assert!(!text.contains("internal error"), "{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `edl authority root create --out path`: the public key it printed.
fn create_root(path: &Path) -> PublicKey {
    let public_hex = expect(
        &[
            "authority",
            "root",
            "create",
            "--out",
            path.to_str().unwrap(),
        ],
        0,
        "",
    );
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(public_hex.trim(), &mut bytes).expect("stdout is the public key in hex");
    PublicKey::from_bytes(&bytes).unwrap()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn root_create_writes_a_private_file_prints_only_the_public_key_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root.key");
    let out = edl(&[
        "authority",
        "root",
        "create",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", printed(&out));
    let seed_hex = std::fs::read_to_string(&path).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(seed_hex.trim(), &mut seed).unwrap();
    let public = SecretKey::from_seed(seed).public();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        public.to_string()
    );
    assert!(
        !printed(&out).contains(seed_hex.trim()),
        "the secret is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner reads the root key");
    }
    // A second create would replace the root every verifier pinned: refused, file kept.
    expect(
        &[
            "authority",
            "root",
            "create",
            "--out",
            path.to_str().unwrap(),
        ],
        1,
        "already exists",
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), seed_hex);
}

#[test]
fn the_saved_lists_are_the_servers_signed_answers_and_a_refresh_never_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let root_file = dir.path().join("root.key");
    let root = create_root(&root_file);
    let (_server, addr) = start(dir.path(), Some(&root_file));
    let url = &format!("http://{addr}");

    // What the help promises: the server's signed answer.
    let help = expect(&["authority", "trust-list", "--help"], 0, "");
    assert!(help.contains("GET /v1/trust-list/signed") && help.contains("signature"));

    // Saved without a root: exactly the bytes served (the list is the same all hour;
    // across an hour boundary, fetch both again).
    let saved = (0..2)
        .find_map(|_| {
            expect(
                &[
                    "authority",
                    "trust-list",
                    "--authority",
                    url,
                    "--out",
                    &d("raw.bin"),
                ],
                0,
                "not checked",
            );
            let served = common::get(&addr, "/v1/trust-list/signed");
            let saved = std::fs::read(d("raw.bin")).unwrap();
            (saved == served).then_some(saved)
        })
        .expect("the file holds exactly the signed answer");
    let contents = open_trust_list(&root, &saved, unix_now(), 60).expect("it verifies");

    // With the pinned root: checked, then saved.
    let hex_root = root.to_string();
    let trust = d("trust.bin");
    expect(
        &[
            "authority",
            "trust-list",
            "--authority",
            url,
            "--root",
            &hex_root,
            "--out",
            &trust,
        ],
        0,
        "checked against the root",
    );
    // The root may also be given as a file holding it.
    std::fs::write(d("root.pub"), format!("{hex_root}\n")).unwrap();
    expect(
        &[
            "authority",
            "trust-list",
            "--authority",
            url,
            "--root",
            &d("root.pub"),
            "--out",
            &trust,
        ],
        0,
        "checked against the root",
    );
    // The status list: saved as served, its signature checked against the trust list.
    expect(
        &[
            "authority",
            "status-list",
            "--authority",
            url,
            "--trust",
            &trust,
            "--root",
            &hex_root,
            "--out",
            &d("status.bin"),
        ],
        0,
        "signature checked",
    );
    let status = std::fs::read(d("status.bin")).unwrap();
    StatusList::verify(&status, &contents.keys).expect("a status list signed under the root");
    let help = expect(&["authority", "status-list", "--help"], 0, "");
    assert!(help.contains("GET /v1/status-list"));

    // Another root's verifier refuses the list (exit 4) and keeps no file.
    let other = SecretKey::from_seed([0xB0; 32]).public().to_string();
    expect(
        &[
            "authority",
            "trust-list",
            "--authority",
            url,
            "--root",
            &other,
            "--out",
            &d("other.bin"),
        ],
        4,
        "root signature does not verify",
    );
    assert!(!dir.path().join("other.bin").exists());

    // A verifier already holding a newer list (a higher sequence) refuses the server's
    // older one as a rollback and keeps its file.
    let mut seed = [0u8; 32];
    hex::decode_to_slice(
        std::fs::read_to_string(&root_file).unwrap().trim(),
        &mut seed,
    )
    .unwrap();
    let now = unix_now() as u32;
    let newer = TrustListContents {
        sequence: u32::MAX - 1,
        issued_at: now,
        expires_at: now + 3600,
        next_root: None,
        keys: contents.keys.clone(),
    }
    .sign(&SecretKey::from_seed(seed));
    std::fs::write(&trust, &newer).unwrap();
    expect(
        &[
            "authority",
            "trust-list",
            "--authority",
            url,
            "--root",
            &hex_root,
            "--out",
            &trust,
        ],
        4,
        "is older than the held list",
    );
    assert_eq!(
        std::fs::read(&trust).unwrap(),
        newer,
        "the newer list is kept"
    );
}

#[test]
fn root_sign_announces_the_next_root_and_a_refresh_follows_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let old = create_root(&dir.path().join("old.key"));
    let new = create_root(&dir.path().join("new.key"));
    // The root is kept offline: the server has none and serves no signed list.
    let (_server, addr) = start(dir.path(), None);
    let url = &format!("http://{addr}");
    expect(
        &[
            "authority",
            "trust-list",
            "--authority",
            url,
            "--out",
            &d("none.bin"),
        ],
        1,
        "started without a root key",
    );
    let keys = TrustList::decode(
        &serde_json::from_slice::<serde_json::Value>(&common::get(&addr, "/v1/trust-list"))
            .unwrap()["trust_list"]
            .as_str()
            .map(|b64| edl_core::wire::Base64::decode(b64).unwrap())
            .unwrap(),
    )
    .unwrap();

    let (old_hex, new_hex) = (old.to_string(), new.to_string());
    let signed = expect(
        &[
            "authority",
            "root",
            "sign",
            "--key",
            &d("old.key"),
            "--authority",
            url,
            "--next-root",
            &new_hex,
            "--out",
            &d("announce.bin"),
        ],
        0,
        "announces the next root",
    );
    assert!(!signed.contains(std::fs::read_to_string(d("old.key")).unwrap().trim()));
    let announce = std::fs::read(d("announce.bin")).unwrap();
    let c = open_trust_list(&old, &announce, unix_now(), 60).unwrap();
    assert_eq!((c.keys, c.next_root), (keys, Some(new)));

    // The verifier takes the announcement, then a list the new root signs (a second
    // later: the sequence is the signing time).
    let held = d("held.bin");
    expect(
        &[
            "authority",
            "trust-list",
            "--from",
            &d("announce.bin"),
            "--root",
            &old_hex,
            "--out",
            &held,
        ],
        0,
        "announces the next root",
    );
    // The new root signs on a machine without network, from the keys saved as a file.
    std::fs::write(d("keys.json"), common::get(&addr, "/v1/trust-list")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    expect(
        &[
            "authority",
            "root",
            "sign",
            "--key",
            &d("new.key"),
            "--keys",
            &d("keys.json"),
            "--out",
            &d("rotated.bin"),
        ],
        0,
        "saved to",
    );
    expect(
        &[
            "authority",
            "trust-list",
            "--from",
            &d("rotated.bin"),
            "--root",
            &old_hex,
            "--out",
            &held,
        ],
        0,
        &format!("the root rotated: pin {new_hex}"),
    );
    // From now on the old root signs nothing a verifier takes, even a list it held.
    let from_announce = ["authority", "trust-list", "--from", &d("announce.bin")];
    let out = edl(&[&from_announce[..], &["--root", &new_hex, "--out", &held]].concat());
    assert_eq!(out.status.code(), Some(4), "{}", printed(&out));
    assert!(printed(&out).contains("root signature does not verify"));
    let rotated = std::fs::read(d("rotated.bin")).unwrap();
    assert_eq!(
        std::fs::read(&held).unwrap(),
        rotated,
        "the held list is kept"
    );
    let c = open_trust_list(&new, &rotated, unix_now(), 60).unwrap();
    assert!(
        c.sequence
            > open_trust_list(&old, &announce, unix_now(), 60)
                .unwrap()
                .sequence
    );
    // A verifier that missed the announcement refuses the new root's list.
    expect(
        &[
            "authority",
            "trust-list",
            "--from",
            &d("rotated.bin"),
            "--root",
            &old_hex,
            "--out",
            &d("fresh.bin"),
        ],
        4,
        "root signature does not verify",
    );
}

#[test]
fn a_closed_stdout_ends_edl_quietly_not_as_an_internal_error() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // `edl … | head -c0`: nobody reads.
    let out = Command::new(env!("CARGO_BIN_EXE_edl"))
        .args(["authority", "root", "create", "--out"])
        .arg(dir.path().join("root.key"))
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // What a shell reports for a tool SIGPIPE stopped (128 + 13).
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// A listener on loopback that answers up to `n` requests with `body` (200), or with a
/// body that never ends when `body` is `None` (bounded: it stops after 20 s).
fn replayer(body: Option<Vec<u8>>, n: usize) -> String {
    use std::io::Write;
    common::fake_authority(n, move |_, s| match &body {
        Some(b) => common::write_answer(s, "200 OK", "", b),
        None => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
            let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, "x".repeat(1 << 16));
            let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while std::time::Instant::now() < end && s.write_all(chunk.as_bytes()).is_ok() {}
        }
    })
}

/// A status list older than the one saved, served again within its lifetime (a replay by
/// whoever sits between the CLI and the authority), is refused and the saved one kept: a
/// suspended licence would otherwise show in force again (second hostile review, R16).
/// And a list download without end is refused at the list's bound, not read into memory.
#[test]
fn an_older_status_list_never_replaces_the_saved_one_and_downloads_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let root_file = dir.path().join("root.key");
    let root = create_root(&root_file).to_string();
    let (_server, addr) = start(dir.path(), Some(&root_file));
    let url = &format!("http://{addr}");
    let trust = d("trust.bin");
    let fetch = |from: &str, code: i32, words: &str| {
        expect(
            &[
                "authority",
                "status-list",
                "--authority",
                from,
                "--trust",
                &trust,
                "--root",
                &root,
                "--out",
                &d("status.bin"),
            ],
            code,
            words,
        )
    };
    expect(
        &[
            "authority",
            "trust-list",
            "--authority",
            url,
            "--root",
            &root,
            "--out",
            &trust,
        ],
        0,
        "checked against the root",
    );
    let old = common::get(&addr, "/v1/status-list");
    // A list is dated by the second: the next one is newer.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    fetch(url, 0, "signature checked");
    let newer = std::fs::read(d("status.bin")).unwrap();

    fetch(&replayer(Some(old), 1), 4, "older");
    assert_eq!(
        std::fs::read(d("status.bin")).unwrap(),
        newer,
        "the saved list was replaced"
    );

    fetch(&replayer(None, 1), 1, "larger than expected");
    assert_eq!(std::fs::read(d("status.bin")).unwrap(), newer);
}
