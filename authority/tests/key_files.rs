//! The authority's own key files (the root key, the key-encryption key) are read at start
//! as a regular file of a bounded size (the CLI's review, left open in D140; D145): a
//! FIFO in their place hung the start for ever, and a device such as `/dev/zero` was read
//! until memory ran out.
#![cfg(unix)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use edl_authority::root::RootKey;
use edl_authority::seal::FileKek;

/// What `load` answers for `path` within 5 s: `Some(is_ok)`, or `None` if it did not return.
fn answered_within_5s(path: &Path, load: fn(&Path) -> bool) -> Option<bool> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_owned();
    // A load that hangs stays behind in its thread; the test still ends.
    std::thread::spawn(move || {
        let _ = tx.send(load(&path));
    });
    rx.recv_timeout(Duration::from_secs(5)).ok()
}

fn root_loads(path: &Path) -> bool {
    RootKey::load(path).is_ok()
}

fn kek_loads(path: &Path) -> bool {
    FileKek::load_or_create(path).is_ok()
}

#[test]
fn a_fifo_or_a_device_in_place_of_a_key_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    for (name, load) in [
        ("root", root_loads as fn(&Path) -> bool),
        ("kek", kek_loads),
    ] {
        assert_eq!(
            answered_within_5s(&fifo, load),
            Some(false),
            "{name} key from a FIFO"
        );
        assert_eq!(
            answered_within_5s(Path::new("/dev/zero"), load),
            Some(false),
            "{name} key from /dev/zero"
        );
    }
}

#[test]
fn an_oversized_key_file_is_refused_and_a_good_one_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    // A valid key, then a megabyte of spaces: trimmed, it would parse.
    let mut text = "ab".repeat(32);
    text.push_str(&" ".repeat(1 << 20));
    std::fs::write(&big, &text).unwrap();
    assert!(!root_loads(&big), "a 1 MiB root key file");
    assert!(!kek_loads(&big), "a 1 MiB key-encryption key file");
    let good = dir.path().join("good");
    std::fs::write(&good, format!("{}\n", "ab".repeat(32))).unwrap();
    assert!(root_loads(&good));
    assert!(kek_loads(&good));
    // Through a link, as a mounted secret often is.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    assert!(root_loads(&link));
    assert!(kek_loads(&link));
}
