//! The files a command names: read with a bound and only when they are regular files (a
//! FIFO is not waited on, a device not read without end), and written whole through a
//! temporary file and a rename, so a link planted at the path is replaced, not written
//! through (the CLI review, 2026-12-05).

use std::io::Read;
use std::path::Path;

/// The most an input file of the CLI may hold: a QR image or a photo to submit (the photo
/// rules, the scanner's pixel bound and the lists' bounds are all smaller).
pub const MAX_INPUT_BYTES: u64 = 32 << 20;

/// The bytes of the file at `path` (a link to one is followed), at most `max`: a regular
/// file, or a pipe (`/dev/stdin`, a shell's `<(…)`). A FIFO nobody writes to reads as empty
/// instead of being waited on; a device or a directory is refused.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading waits for a writer; not with O_NONBLOCK. A regular file
    // ignores the flag.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| cannot(&e))?;
    let meta = file.metadata().map_err(|e| cannot(&e))?;
    if !meta.is_file() && !is_fifo(&meta) {
        return Err(cannot(&"not a regular file or a pipe"));
    }
    if meta.is_file() && meta.len() > max {
        return Err(cannot(&format_args!("larger than {max} bytes")));
    }
    #[cfg(unix)]
    if is_fifo(&meta) {
        blocking(&file).map_err(|e| cannot(&e))?;
    }
    let mut bytes = Vec::with_capacity(meta.len().min(max) as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(&e))?;
    if bytes.len() as u64 > max {
        return Err(cannot(&format_args!("larger than {max} bytes")));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn is_fifo(meta: &std::fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type())
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::Metadata) -> bool {
    false
}

/// Clears `O_NONBLOCK` on a pipe opened with it: its reads then wait for data, and end
/// when its writers are gone (at once when there never was one).
#[cfg(unix)]
fn blocking(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open for as long as `file` is borrowed; F_GETFL and F_SETFL only
    // read and set the descriptor's status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Like [`read`], `None` when nothing is at `path` (a link to nothing included).
pub fn read_if_there(path: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => read(path, max).map(Some),
    }
}

/// Writes `bytes` to `path` whole, with `mode` on unix (0600 where the file system refuses
/// it): through a temporary file in the same directory, synced, then renamed over the path,
/// so a link at the path is replaced, not written through. A device or a pipe already at
/// the path (`/dev/stdout`) is written to as it is.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| cannot(&e))?;
        return std::io::Write::write_all(&mut out, bytes).map_err(|e| cannot(&e));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| cannot(&e))?;
    // The temporary file starts 0600; a file system that refuses the change keeps that.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| cannot(&e))?;
    tmp.as_file().sync_all().map_err(|e| cannot(&e))?;
    tmp.persist(path).map_err(|e| cannot(&e.error))?;
    Ok(())
}

/// JSON `text` (as serde_json wrote it) for a terminal or a script: serde escapes control
/// characters inside strings, and this also writes DEL, the C1 controls and the
/// bidirectional and line-separator characters as `\uXXXX`, so what another party wrote
/// cannot act on the terminal through `--json` either (still the same JSON: such
/// characters occur only inside strings).
pub fn json(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c != '\n' && edl_core::licence::is_hidden_character(c) {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_link_at_the_path_is_replaced_and_its_target_kept() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("out");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write(&link, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(read(&link, 3).unwrap(), b"new");
        assert!(read(&link, 2).is_err(), "over the bound");
        assert_eq!(read_if_there(&dir.path().join("none"), 9).unwrap(), None);
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
        assert_eq!(read_if_there(&dangling, 9).unwrap(), None);
        assert!(read(Path::new("/dev/null"), 9).is_err(), "a device");
    }

    #[test]
    fn a_pipe_is_read_and_a_fifo_without_a_writer_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        assert_eq!(
            read(&fifo, 9).unwrap(),
            b"",
            "no writer: empty, not waited on"
        );
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
                std::io::Write::write_all(&mut w, b"piped").unwrap();
            })
        };
        // The writer may open after the read began: retry until it has.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut got = read(&fifo, 9).unwrap();
        while got.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            got = read(&fifo, 9).unwrap();
        }
        writer.join().unwrap();
        assert_eq!(got, b"piped");
    }

    #[test]
    fn json_text_escapes_what_would_act_on_a_terminal() {
        let v = serde_json::json!({"name": "a\u{9b}b\u{202e}c\u{7f}d\u{2028}e\u{1b}"});
        let text = json(&serde_json::to_string_pretty(&v).unwrap());
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && edl_core::licence::is_hidden_character(c))
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}

/// Makes a FIFO at `path` (the tests' planted pipes).
#[cfg(all(test, unix))]
pub(crate) fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}
