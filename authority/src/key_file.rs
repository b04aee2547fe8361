//! Reading the operator's key files (the root key, the key-encryption key) at start: a
//! regular file (a link to one is followed, as mounted secrets are links) of at most
//! [`MAX_KEY_FILE`] bytes (the CLI's review, left open in D140; D145). A FIFO in such a
//! file's place hung the start for ever, and a device such as `/dev/zero` was read until
//! memory ran out.

use std::io::{Error, ErrorKind, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// The largest key file read: 64 hex digits and a line break fit many times over.
pub const MAX_KEY_FILE: u64 = 4096;

/// The bytes of the key file at `path`, wiped when dropped.
pub fn read(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO opens at once instead of waiting for a writer; what was opened is then asked
    // what it is (not the path, which could be swapped in between).
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {MAX_KEY_FILE} bytes"),
        ));
    }
    Ok(bytes)
}
