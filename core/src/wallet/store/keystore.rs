//! Wrapping the data key: the [`KeyWrapper`] the store asks to wrap and unwrap it (the app's
//! platform key store, adapted by the bindings), and a [`SoftwareKeyStore`] for tests and
//! desktop.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use zeroize::Zeroizing;

use super::cipher::{KEY_LEN, derive, fill_random};
use super::error::KeyWrapError;

/// Wraps and unwraps the store's data key with a key the app keeps out of the database
/// file: on Android a non-exportable Keystore key, on iOS a Keychain or Secure Enclave
/// key, reached through a UniFFI callback interface.
///
/// This is the core's side of the contract: the app implements the FFI's `KeyStore`
/// callback (`udl/edl.udl`), and the bindings adapt it to this trait. The name says the
/// one job the store needs done; [`SoftwareKeyStore`] is a key store kept in software,
/// offered to the core through this trait like the platform's.
///
/// The store calls [`wrap_key`](KeyWrapper::wrap_key) once, when it creates the database,
/// and [`unwrap_key`](KeyWrapper::unwrap_key) each time it opens it. The wrapped blob is
/// opaque to the store and kept in the database; the implementation chooses its format
/// (it may carry a key alias or parameters). Implementations must authenticate the blob
/// (AES-GCM in Android Keystore, ECIES/AES-GCM on iOS do) and answer
/// [`KeyWrapError::WrongKey`] when it does not open.
///
/// This is the one place the data key meets foreign code: a non-exportable platform key
/// can only encrypt what it is given and hand back what it decrypts, so the plaintext key
/// crosses the FFI once at creation and once per open. The app's implementation should
/// keep it in a byte array it overwrites right after the call, and never log it.
pub trait KeyWrapper: Send + Sync {
    /// Encrypts `plaintext` (the 32-byte data key) under the platform key.
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError>;

    /// Decrypts a blob made by [`wrap_key`](KeyWrapper::wrap_key). The result is zeroized
    /// when dropped.
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError>;
}

/// Argon2id cost parameters for [`SoftwareKeyStore::from_passphrase`].
///
/// They are written into every wrapped blob (and bound to it), so a wallet keeps opening
/// after the defaults change, and unwrapping uses the blob's own figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes. This build computes them one after another, so more lanes cost time.
    pub parallelism: u32,
}

impl Argon2Settings {
    /// The defaults: 19 MiB, 2 passes, 1 lane — OWASP's recommended floor for Argon2id
    /// (the `argon2` crate's defaults too). About 40 ms on this project's build machine
    /// and a few hundred on a low-end phone, paid once per opening; 19 MiB stays far from
    /// the memory at which Android kills a background app. More memory would cost phones
    /// more than it costs an attacker with GPUs; a phone should use the platform key store
    /// anyway, this one is for desktop and tests. Figures in `docs/DECISIONS.md` (D16).
    pub const DEFAULT: Argon2Settings = Argon2Settings {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest settings Argon2 allows (8 KiB, 1 pass). Offers no protection to a
    /// weak passphrase: for tests only, where the default would cost seconds per suite.
    pub const INSECURE_FOR_TESTS: Argon2Settings = Argon2Settings {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    /// Largest settings accepted when unwrapping (and when making a key store), so a damaged
    /// or hostile blob cannot make the app allocate gigabytes or spin for minutes: what this
    /// key store writes ([`DEFAULT`](Self::DEFAULT), 19 MiB and 2 passes on 1 lane) with a
    /// small margin. At the most, 32 MiB and 4 passes, about 3.4 times the default's work
    /// (a second or two on a low-end phone). The third hostile review (F9) found 1 GiB and
    /// 64 passes accepted.
    const MAX_MEMORY_KIB: u32 = 32 * 1024;
    const MAX_ITERATIONS: u32 = 4;
    const MAX_PARALLELISM: u32 = 4;

    fn params(self) -> Result<Params, KeyWrapError> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.iterations > Self::MAX_ITERATIONS
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return Err(KeyWrapError::BadParameters);
        }
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .map_err(|_| KeyWrapError::BadParameters)
    }
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A key store that keeps its key in software: a passphrase stretched with Argon2id, or a
/// 32-byte key file. For tests, the CLI and desktop builds; on a phone it protects no
/// better than where the passphrase or file is kept.
///
/// Blob format (all integers big-endian; `header` is also the associated data):
///
/// ```text
/// passphrase: "EDLW" 0x01 0x01 memory_kib:u32 iterations:u32 parallelism:u32 salt:16 | nonce:24 ciphertext+tag:48
/// key file:   "EDLW" 0x01 0x02                                                 | nonce:24 ciphertext+tag:48
/// ```
///
/// The key-encryption key is Argon2id(passphrase, salt) or HMAC-SHA256(file key,
/// `"EDL1/keystore/key-file"`); the cipher is XChaCha20-Poly1305. A fresh salt and nonce
/// are drawn for every wrap.
pub struct SoftwareKeyStore {
    secret: Secret,
}

enum Secret {
    Passphrase {
        passphrase: Zeroizing<Vec<u8>>,
        settings: Argon2Settings,
    },
    KeyFile(Zeroizing<[u8; KEY_LEN]>),
}

const MAGIC: &[u8; 4] = b"EDLW";
const FORMAT: u8 = 1;
const KIND_PASSPHRASE: u8 = 1;
const KIND_KEY_FILE: u8 = 2;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;

impl fmt::Debug for SoftwareKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.secret {
            Secret::Passphrase { settings, .. } => {
                write!(f, "SoftwareKeyStore(passphrase [redacted], {settings:?})")
            }
            Secret::KeyFile(_) => f.write_str("SoftwareKeyStore(key file [redacted])"),
        }
    }
}

impl SoftwareKeyStore {
    /// A key store over a passphrase with the [default](Argon2Settings::DEFAULT) Argon2id
    /// settings. The passphrase is copied and zeroized when the key store is dropped.
    pub fn from_passphrase(passphrase: &str) -> Self {
        Self::from_passphrase_with(passphrase, Argon2Settings::DEFAULT)
            .expect("the default settings are valid")
    }

    /// A key store over a passphrase with chosen Argon2id settings (new wraps use them;
    /// unwrapping uses the blob's own). Fails if Argon2 rejects them or they exceed the
    /// limits unwrapping accepts.
    pub fn from_passphrase_with(
        passphrase: &str,
        settings: Argon2Settings,
    ) -> Result<Self, KeyWrapError> {
        settings.params()?;
        Ok(SoftwareKeyStore {
            secret: Secret::Passphrase {
                passphrase: Zeroizing::new(passphrase.as_bytes().to_vec()),
                settings,
            },
        })
    }

    /// A key store over 32 key bytes held by the caller.
    pub fn from_key_bytes(key: Zeroizing<[u8; KEY_LEN]>) -> Self {
        SoftwareKeyStore {
            secret: Secret::KeyFile(key),
        }
    }

    /// Makes a new key file of 32 random bytes (readable by the owner only on Unix) and a
    /// key store over it. Refuses to overwrite an existing file, since that would lose
    /// every store wrapped with it.
    pub fn create_key_file(path: &Path) -> Result<Self, KeyWrapError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(&mut key[..])?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let io = |e: std::io::Error| KeyWrapError::Io(e.kind());
        let mut file = options.open(path).map_err(io)?;
        file.write_all(&key[..]).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self::from_key_bytes(key))
    }

    /// A key store over an existing key file, which must hold exactly 32 bytes. At most 33
    /// are read, so a path to something without end (`/dev/zero`, a pipe that keeps
    /// writing) is refused as [`KeyWrapError::BadKeyFile`] instead of read until memory runs
    /// out (the third hostile review, F9).
    pub fn from_key_file(path: &Path) -> Result<Self, KeyWrapError> {
        let io = |e: std::io::Error| KeyWrapError::Io(e.kind());
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        file.take(KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let key: [u8; KEY_LEN] = bytes[..].try_into().map_err(|_| KeyWrapError::BadKeyFile)?;
        Ok(Self::from_key_bytes(Zeroizing::new(key)))
    }

    /// The key file at `path`, made first if there is none. Two callers racing to make it
    /// both end up with the one that was written (the loser reads the winner's file).
    pub fn open_or_create_key_file(path: &Path) -> Result<Self, KeyWrapError> {
        match Self::from_key_file(path) {
            Err(KeyWrapError::Io(std::io::ErrorKind::NotFound)) => {
                match Self::create_key_file(path) {
                    Err(KeyWrapError::Io(std::io::ErrorKind::AlreadyExists)) => {
                        Self::from_key_file(path)
                    }
                    made => made,
                }
            }
            opened => opened,
        }
    }

    /// The key-encryption key for a blob whose header is `header`.
    fn kek(&self, header: &Header) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyWrapError> {
        match (&self.secret, header) {
            (Secret::Passphrase { passphrase, .. }, Header::Passphrase { settings, salt }) => {
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, settings.params()?);
                let mut kek = Zeroizing::new([0u8; KEY_LEN]);
                argon
                    .hash_password_into(passphrase, salt, &mut kek[..])
                    .map_err(|_| KeyWrapError::BadParameters)?;
                Ok(kek)
            }
            (Secret::KeyFile(key), Header::KeyFile) => {
                Ok(derive(&key[..], b"EDL1/keystore/key-file"))
            }
            // A blob wrapped by the other kind of key store: this key does not open it.
            _ => Err(KeyWrapError::WrongKey),
        }
    }
}

/// The parsed header of a wrapped blob.
enum Header {
    Passphrase {
        settings: Argon2Settings,
        salt: [u8; SALT_LEN],
    },
    KeyFile,
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 12 + SALT_LEN);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT);
        match self {
            Header::Passphrase { settings, salt } => {
                out.push(KIND_PASSPHRASE);
                out.extend_from_slice(&settings.memory_kib.to_be_bytes());
                out.extend_from_slice(&settings.iterations.to_be_bytes());
                out.extend_from_slice(&settings.parallelism.to_be_bytes());
                out.extend_from_slice(salt);
            }
            Header::KeyFile => out.push(KIND_KEY_FILE),
        }
        out
    }

    /// Splits a blob into its header, the header's bytes and the rest.
    fn decode(blob: &[u8]) -> Result<(Header, &[u8], &[u8]), KeyWrapError> {
        let bad = KeyWrapError::Malformed;
        if blob.len() < 6 || &blob[..4] != MAGIC || blob[4] != FORMAT {
            return Err(bad);
        }
        let (header, len) = match blob[5] {
            KIND_PASSPHRASE => {
                let fixed = blob.get(6..6 + 12 + SALT_LEN).ok_or(bad.clone())?;
                let word = |i: usize| u32::from_be_bytes(fixed[i..i + 4].try_into().expect("4"));
                let settings = Argon2Settings {
                    memory_kib: word(0),
                    iterations: word(4),
                    parallelism: word(8),
                };
                let salt = fixed[12..].try_into().expect("16 bytes");
                (Header::Passphrase { settings, salt }, 6 + 12 + SALT_LEN)
            }
            KIND_KEY_FILE => (Header::KeyFile, 6),
            _ => return Err(bad),
        };
        Ok((header, &blob[..len], &blob[len..]))
    }
}

impl KeyWrapper for SoftwareKeyStore {
    fn wrap_key(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyWrapError> {
        let header = match &self.secret {
            Secret::Passphrase { settings, .. } => {
                let mut salt = [0u8; SALT_LEN];
                fill_random(&mut salt)?;
                Header::Passphrase {
                    settings: *settings,
                    salt,
                }
            }
            Secret::KeyFile(_) => Header::KeyFile,
        };
        let kek = self.kek(&header)?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let mut out = header.encode();
        let ciphertext = XChaCha20Poly1305::new_from_slice(&kek[..])
            .expect("32-byte key")
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: &out,
                },
            )
            .map_err(|_| KeyWrapError::Malformed)?;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapError> {
        let (header, header_bytes, rest) = Header::decode(wrapped)?;
        if rest.len() < NONCE_LEN + 16 {
            return Err(KeyWrapError::Malformed);
        }
        let kek = self.kek(&header)?;
        let nonce: [u8; NONCE_LEN] = rest[..NONCE_LEN].try_into().expect("24 bytes");
        XChaCha20Poly1305::new_from_slice(&kek[..])
            .expect("32-byte key")
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &rest[NONCE_LEN..],
                    aad: header_bytes,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyWrapError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(passphrase: &str) -> SoftwareKeyStore {
        SoftwareKeyStore::from_passphrase_with(passphrase, Argon2Settings::INSECURE_FOR_TESTS)
            .unwrap()
    }

    #[test]
    fn passphrase_wrap_round_trips_and_wrong_passphrase_is_wrong_key() {
        let ks = quick("correct horse");
        let wrapped = ks.wrap_key(&[5; 32]).unwrap();
        assert_eq!(&ks.unwrap_key(&wrapped).unwrap()[..], &[5; 32]);
        assert_eq!(
            quick("wrong horse").unwrap_key(&wrapped).unwrap_err(),
            KeyWrapError::WrongKey
        );
    }

    #[test]
    fn unwrapping_uses_the_blobs_own_settings() {
        let old = SoftwareKeyStore::from_passphrase_with(
            "p",
            Argon2Settings {
                memory_kib: 64,
                iterations: 2,
                parallelism: 2,
            },
        )
        .unwrap();
        let wrapped = old.wrap_key(b"key").unwrap();
        assert_eq!(&quick("p").unwrap_key(&wrapped).unwrap()[..], b"key");
    }

    #[test]
    fn tampered_header_or_body_does_not_unwrap() {
        let ks = quick("p");
        let wrapped = ks.wrap_key(&[1; 32]).unwrap();
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x04;
            assert!(ks.unwrap_key(&bad).is_err(), "byte {i}");
        }
        for n in 0..wrapped.len() {
            assert!(ks.unwrap_key(&wrapped[..n]).is_err(), "length {n}");
        }
    }

    #[test]
    fn hostile_argon2_settings_are_refused_before_any_work() {
        let ks = quick("p");
        let mut wrapped = ks.wrap_key(&[1; 32]).unwrap();
        wrapped[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            ks.unwrap_key(&wrapped).unwrap_err(),
            KeyWrapError::BadParameters
        );
    }

    /// A blob may ask for no more work than this key store's own settings with a small
    /// margin (the third hostile review, F9: 1 GiB and 64 passes were accepted, minutes of
    /// work and a gigabyte on a phone, for a blob planted in the file).
    #[test]
    fn argon2_settings_beyond_what_this_key_store_writes_are_refused() {
        let ks = quick("p");
        let wrapped = ks.wrap_key(&[1; 32]).unwrap();
        let with = |memory_kib: u32, iterations: u32, parallelism: u32| {
            let mut blob = wrapped.clone();
            blob[6..10].copy_from_slice(&memory_kib.to_be_bytes());
            blob[10..14].copy_from_slice(&iterations.to_be_bytes());
            blob[14..18].copy_from_slice(&parallelism.to_be_bytes());
            blob
        };
        for (memory_kib, iterations, parallelism) in [
            (32 * 1024 + 1, 1, 1),
            (8, 5, 1),
            (40, 1, 5),
            // The reviewer's blob.
            (1024 * 1024, 64, 1),
        ] {
            assert_eq!(
                ks.unwrap_key(&with(memory_kib, iterations, parallelism))
                    .unwrap_err(),
                KeyWrapError::BadParameters,
                "{memory_kib} KiB, {iterations} passes, {parallelism} lanes"
            );
        }
        // The most a blob may ask is still worked through (and, its header altered, does
        // not open).
        assert_eq!(
            ks.unwrap_key(&with(32 * 1024, 1, 4)).unwrap_err(),
            KeyWrapError::WrongKey
        );
        // A key store is not made with settings its own blobs could not be opened with.
        let too_many = Argon2Settings {
            iterations: 5,
            ..Argon2Settings::DEFAULT
        };
        assert_eq!(
            SoftwareKeyStore::from_passphrase_with("p", too_many).unwrap_err(),
            KeyWrapError::BadParameters
        );
    }

    #[test]
    fn open_or_create_makes_the_key_file_once_and_then_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.key");
        let wrapped = SoftwareKeyStore::open_or_create_key_file(&path)
            .unwrap()
            .wrap_key(&[9; 32])
            .unwrap();
        let again = SoftwareKeyStore::open_or_create_key_file(&path).unwrap();
        assert_eq!(&again.unwrap_key(&wrapped).unwrap()[..], &[9; 32]);
        // A damaged file is reported, never replaced by a new key.
        std::fs::write(&path, [1u8; 5]).unwrap();
        assert_eq!(
            SoftwareKeyStore::open_or_create_key_file(&path).unwrap_err(),
            KeyWrapError::BadKeyFile
        );
        assert_eq!(std::fs::read(&path).unwrap(), [1u8; 5]);
    }

    #[test]
    fn key_file_round_trips_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.key");
        let ks = SoftwareKeyStore::create_key_file(&path).unwrap();
        let wrapped = ks.wrap_key(&[7; 32]).unwrap();
        let again = SoftwareKeyStore::from_key_file(&path).unwrap();
        assert_eq!(&again.unwrap_key(&wrapped).unwrap()[..], &[7; 32]);
        assert!(matches!(
            SoftwareKeyStore::create_key_file(&path),
            Err(KeyWrapError::Io(std::io::ErrorKind::AlreadyExists))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "key file readable by others");
        }
        std::fs::write(&path, [0u8; 31]).unwrap();
        assert_eq!(
            SoftwareKeyStore::from_key_file(&path).unwrap_err(),
            KeyWrapError::BadKeyFile
        );
    }

    #[test]
    fn key_file_and_passphrase_blobs_do_not_open_each_other() {
        let file = SoftwareKeyStore::from_key_bytes(Zeroizing::new([3; 32]));
        let pass = quick("p");
        assert_eq!(
            pass.unwrap_key(&file.wrap_key(b"k").unwrap()).unwrap_err(),
            KeyWrapError::WrongKey
        );
        assert_eq!(
            file.unwrap_key(&pass.wrap_key(b"k").unwrap()).unwrap_err(),
            KeyWrapError::WrongKey
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let pass = quick("hunter2-secret");
        let file = SoftwareKeyStore::from_key_bytes(Zeroizing::new([0xAB; 32]));
        let shown = format!("{pass:?} {file:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.to_lowercase().contains("abab"));
        assert!(!shown.contains("171"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn default_settings_are_the_documented_ones() {
        assert!(Argon2Settings::DEFAULT.params().is_ok());
        assert!(Argon2Settings::INSECURE_FOR_TESTS.params().is_ok());
        assert_eq!(Argon2Settings::default().memory_kib, 19 * 1024);
    }
}
