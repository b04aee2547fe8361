//! Sealing secrets at rest: the issuing key seeds are stored encrypted under a
//! key-encryption key (KEK) that never enters the database (D64).
//!
//! [`SeedSealer`] is the seam where an HSM or a cloud KMS plugs in (its `seal`/`open`
//! become wrap/unwrap calls). [`FileKek`] is the built-in one: a 32-byte key from the
//! environment (`EDL_AUTHORITY_KEK`, hex) or a file (`EDL_AUTHORITY_KEK_FILE`, or a file
//! beside the database made on first start with mode 0600). A copy of the database alone
//! (a backup, a stolen disk image of the data volume) then yields no issuing key.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::random;

/// Environment variable holding the KEK as 64 hex digits.
pub const KEK_ENV: &str = "EDL_AUTHORITY_KEK";
/// Environment variable naming a file that holds the KEK (32 bytes, or 64 hex digits).
pub const KEK_FILE_ENV: &str = "EDL_AUTHORITY_KEK_FILE";

/// Why a secret could not be sealed or opened, or the KEK not loaded. Never carries key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The sealed value does not open with this KEK (another KEK, or altered bytes).
    #[error("a sealed secret does not open with this key-encryption key")]
    WrongKey,
    /// The KEK is not 32 bytes (or 64 hex digits).
    #[error("the key-encryption key must be 32 bytes or 64 hex digits")]
    BadKek,
    /// The KEK file could not be read or made.
    #[error("key-encryption key file: {0}")]
    Io(#[from] std::io::Error),
}

/// A keyed digest under a key that never enters the database (D150), held by whatever
/// holds the KEK: the same for every process sharing it.
pub trait KeyedDigest: Send + Sync {
    /// A keyed digest of `data` for `label`'s purpose (an HSM: its HMAC): a name for a
    /// value that a copy of the database cannot be searched for.
    fn keyed_digest(&self, label: &[u8], data: &[u8]) -> [u8; 32];
}

/// Wraps and unwraps 32-byte secrets. `label` binds a sealed value to what it is (an
/// issuer key id), so a sealed seed cannot be moved to another row. What holds the KEK
/// also gives the keyed digests ([`KeyedDigest`]), so an HSM plugs in at one seam.
pub trait SeedSealer: KeyedDigest {
    /// The sealed form of `seed`.
    fn seal(&self, label: &[u8], seed: &[u8; 32]) -> Vec<u8>;
    /// The seed back; [`SealError::WrongKey`] if `sealed` was not made by this KEK for
    /// `label`.
    fn open(&self, label: &[u8], sealed: &[u8]) -> Result<Zeroizing<[u8; 32]>, SealError>;
}

/// Format version of a sealed value: `1 || nonce(24) || XChaCha20-Poly1305(seed)`.
const VERSION: u8 = 1;
const NONCE: usize = 24;

/// A KEK held in memory (from the environment or a file).
pub struct FileKek {
    aead: XChaCha20Poly1305,
    /// The key of [`SeedSealer::keyed_digest`], derived from the KEK so that one key is
    /// not used by two algorithms.
    digest_key: Zeroizing<[u8; 32]>,
}

impl FileKek {
    /// A KEK from its 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        let mut derive = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key)
            .expect("HMAC takes a key of any length");
        derive.update(b"edl/authority/keyed-digest");
        FileKek {
            aead: XChaCha20Poly1305::new_from_slice(key).expect("32-byte key"),
            digest_key: Zeroizing::new(derive.finalize().into_bytes().into()),
        }
    }

    /// The KEK from `EDL_AUTHORITY_KEK`, else from the file `EDL_AUTHORITY_KEK_FILE`
    /// names, else from `default_file` (made with mode 0600 and a random key if missing).
    pub fn from_env_or_file(default_file: &Path) -> Result<Self, SealError> {
        if let Ok(hex_key) = std::env::var(KEK_ENV) {
            return Self::parse(hex_key.trim().as_bytes());
        }
        let path = std::env::var_os(KEK_FILE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_file.to_owned());
        Self::load_or_create(&path)
    }

    /// The KEK in `path`, made (random, mode 0600) if the file does not exist.
    ///
    /// Processes starting at once may all find it missing (D175): each writes a key whole
    /// under a name of its own and links it into place, which fails if the file is there
    /// by then; the others read the key that got in. So no process fails on the file
    /// another made, reads it half written, or keeps a key the file does not hold.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        match crate::key_file::read(path) {
            Ok(bytes) => Self::parse(bytes.trim_ascii()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Zeroizing::new(random::bytes::<32>());
                let mut draft = path.as_os_str().to_owned();
                draft.push(format!(".{}.new", hex::encode(random::bytes::<8>())));
                let draft = PathBuf::from(draft);
                let written = (|| {
                    let mut file = private_file(&draft)?;
                    file.write_all(hex::encode(&key[..]).as_bytes())?;
                    file.sync_all()?;
                    std::fs::hard_link(&draft, path)
                })();
                let _ = std::fs::remove_file(&draft);
                match written {
                    Ok(()) => Ok(FileKek::new(&key)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::parse(crate::key_file::read(path)?.trim_ascii())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    fn parse(bytes: &[u8]) -> Result<Self, SealError> {
        let key: Zeroizing<[u8; 32]> = match bytes.len() {
            32 => Zeroizing::new(bytes.try_into().map_err(|_| SealError::BadKek)?),
            64 => {
                let mut k = Zeroizing::new([0u8; 32]);
                hex::decode_to_slice(bytes, &mut k[..]).map_err(|_| SealError::BadKek)?;
                k
            }
            _ => return Err(SealError::BadKek),
        };
        Ok(FileKek::new(&key))
    }
}

impl SeedSealer for FileKek {
    fn seal(&self, label: &[u8], seed: &[u8; 32]) -> Vec<u8> {
        let nonce = random::bytes::<NONCE>();
        let sealed = self
            .aead
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: seed,
                    aad: label,
                },
            )
            .expect("XChaCha20-Poly1305 seals any 32 bytes");
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    fn open(&self, label: &[u8], sealed: &[u8]) -> Result<Zeroizing<[u8; 32]>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::WrongKey)?;
        if version != VERSION || rest.len() < NONCE {
            return Err(SealError::WrongKey);
        }
        let (nonce, body) = rest.split_at(NONCE);
        let nonce: &[u8; NONCE] = nonce.try_into().map_err(|_| SealError::WrongKey)?;
        let plain = Zeroizing::new(
            self.aead
                .decrypt(
                    nonce.into(),
                    Payload {
                        msg: body,
                        aad: label,
                    },
                )
                .map_err(|_| SealError::WrongKey)?,
        );
        let seed: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| SealError::WrongKey)?;
        Ok(Zeroizing::new(seed))
    }
}

impl KeyedDigest for FileKek {
    fn keyed_digest(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.digest_key[..])
            .expect("HMAC takes a key of any length");
        // The label's length first, so no label and data run into another pair.
        mac.update(&(label.len() as u64).to_be_bytes());
        mac.update(label);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// Creates `path` readable and writable by its owner only (0600 on Unix), failing if it
/// exists.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_digest_depends_on_the_kek_the_label_and_the_data_only() {
        let kek = FileKek::new(&[7; 32]);
        let d = kek.keyed_digest(b"probed licence number", b"110101198001010017");
        assert_eq!(
            d,
            FileKek::new(&[7; 32]).keyed_digest(b"probed licence number", b"110101198001010017"),
            "every process with the KEK names it alike"
        );
        for other in [
            FileKek::new(&[8; 32]).keyed_digest(b"probed licence number", b"110101198001010017"),
            kek.keyed_digest(b"probed licence numbe", b"r110101198001010017"),
            kek.keyed_digest(b"probed licence number", b"110101198001010025"),
        ] {
            assert_ne!(d, other);
        }
    }

    #[test]
    fn a_sealed_seed_opens_only_with_its_kek_and_label() {
        let kek = FileKek::new(&[7; 32]);
        let sealed = kek.seal(b"issuer-key 1", &[9; 32]);
        assert!(!sealed.windows(32).any(|w| w == [9; 32]));
        assert_eq!(*kek.open(b"issuer-key 1", &sealed).unwrap(), [9; 32]);
        assert!(kek.open(b"issuer-key 2", &sealed).is_err());
        assert!(
            FileKek::new(&[8; 32])
                .open(b"issuer-key 1", &sealed)
                .is_err()
        );
        assert!(kek.open(b"issuer-key 1", &sealed[..10]).is_err());
    }

    /// Processes starting at once on a host without a KEK file all get the one key that
    /// ends up in it: none fails on the file another made, or reads it half written, or
    /// keeps a key of its own that the file does not hold.
    #[test]
    fn processes_making_the_kek_file_at_once_all_get_the_key_it_holds() {
        for _ in 0..200 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("kek");
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let made: Vec<_> = (0..8)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        FileKek::load_or_create(&path)
                    })
                })
                .collect();
            let on_file = |kek: &FileKek| {
                let sealed = kek.seal(b"issuer-key 1", &[9; 32]);
                FileKek::load_or_create(&path)
                    .unwrap()
                    .open(b"issuer-key 1", &sealed)
                    .is_ok()
            };
            for kek in made {
                let kek = kek.join().unwrap().expect("every process gets a key");
                assert!(on_file(&kek), "a process kept a key the file does not hold");
            }
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(left.len(), 1, "only the KEK file is left");
        }
    }

    #[test]
    fn a_kek_file_is_made_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        let sealed = FileKek::load_or_create(&path).unwrap().seal(b"l", &[1; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = FileKek::load_or_create(&path).unwrap();
        assert_eq!(*again.open(b"l", &sealed).unwrap(), [1; 32]);
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            FileKek::load_or_create(&path),
            Err(SealError::BadKek)
        ));
    }
}
