//! The files a command names: read with a bound and only when they are regular files (a
//! FIFO is not waited on, a device not read without end), and written whole through a
//! temporary file and a rename, so a link planted at the path is replaced, not written
//! through (the CLI review, 2026-12-05).

use std::io::Read;
use std::path::Path;

/// The most an input file of the CLI may hold: a QR image or a photo to submit (the photo
/// rules, the scanner's pixel bound and the lists' bounds are all smaller).
pub const MAX_INPUT_BYTES: u64 = 32 << 20;

/// The bytes of the regular file at `path` (a link to one is followed), at most `max`.
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
    if !meta.is_file() {
        return Err(cannot(&"not a regular file"));
    }
    if meta.len() > max {
        return Err(cannot(&format_args!("larger than {max} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(&e))?;
    if bytes.len() as u64 > max {
        return Err(cannot(&format_args!("larger than {max} bytes")));
    }
    Ok(bytes)
}

/// Like [`read`], `None` when nothing is at `path`.
pub fn read_if_there(path: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        _ => read(path, max).map(Some),
    }
}

/// Writes `bytes` to `path` whole, with `mode` on unix (0600 where the file system refuses
/// it): through a temporary file in the same directory, synced, then renamed over the path.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let cannot = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
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
    }
}
