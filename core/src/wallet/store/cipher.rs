//! Field-level encryption at rest: XChaCha20-Poly1305 under keys derived from the data key,
//! each ciphertext bound by associated data to the one place it may be read from.
//!
//! Sealed layout: `version (1 = 0x01) || nonce (24) || ciphertext || tag (16)`.
//!
//! Associated data: `"EDL1/store/v1\0" || kind || 0x00 || field…` where each field is a
//! 4-byte big-endian length and its bytes. `kind` says which table; the fields say which
//! row (document or secret name; list, id tag and sequence number of an item). So a value
//! copied into another row, table or list, or two items' bodies or positions swapped, fail
//! authentication instead of being read as something they are not. A value copied from an
//! older copy of the same row is caught by the row digest instead (`digest`, D143).
//!
//! XChaCha20 rather than AES-GCM: its 192-bit nonces are safe to draw at random for as many
//! writes as a wallet will ever make under one key (AES-GCM's 96-bit random nonces need a
//! count), and it is constant-time in software on phones without AES instructions.

use std::fmt;

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::{Corruption, KeyWrapError, StoreError};

/// Length of the data key (and of every derived key).
pub(super) const KEY_LEN: usize = 32;
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// The start of a sealed value that names its sealing: the format byte and the nonce. Nonces
/// are drawn at random for every seal, so no two sealings share it, and only the sealing
/// it names opens under it (`digest` marks rows by it).
pub(super) const HEAD_LEN: usize = 1 + NONCE_LEN;
const TAG_LEN: usize = 16;
const AD_PREFIX: &[u8] = b"EDL1/store/v1\0";

/// Fills `buf` from the operating system's generator.
pub(super) fn fill_random(buf: &mut [u8]) -> Result<(), KeyWrapError> {
    getrandom::fill(buf).map_err(|_| KeyWrapError::Random)
}

/// HMAC-SHA256(key, label): one independent key per job from one secret.
pub(super) fn derive(key: &[u8], label: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut mac =
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The one place a sealed value may live.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot<'a> {
    /// The known plaintext in `meta` that tells a wrong key from a damaged row.
    KeyCheck,
    /// A named document.
    Doc(&'a str),
    /// A named secret.
    Secret(&'a str),
    /// An item of a list, at its position.
    Item {
        list: &'a str,
        id_tag: &'a [u8; KEY_LEN],
        seq: i64,
    },
    /// The digest of the whole set of rows, in `meta` (`digest`).
    RowDigest,
}

impl Slot<'_> {
    fn associated_data(&self) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, bytes: &[u8]) {
            // Names are at most 64 bytes and ids 256, so the length always fits.
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(bytes);
        }
        let mut ad = Vec::with_capacity(AD_PREFIX.len() + 96);
        ad.extend_from_slice(AD_PREFIX);
        match self {
            Slot::KeyCheck => ad.extend_from_slice(b"key-check\0"),
            Slot::RowDigest => ad.extend_from_slice(b"row-digest\0"),
            Slot::Doc(name) => {
                ad.extend_from_slice(b"doc\0");
                field(&mut ad, name.as_bytes());
            }
            Slot::Secret(name) => {
                ad.extend_from_slice(b"secret\0");
                field(&mut ad, name.as_bytes());
            }
            Slot::Item { list, id_tag, seq } => {
                ad.extend_from_slice(b"item\0");
                field(&mut ad, list.as_bytes());
                field(&mut ad, &id_tag[..]);
                field(&mut ad, &seq.to_be_bytes());
            }
        }
        ad
    }
}

/// The wallet's data key and the keys derived from it. Zeroized on drop (the cipher
/// zeroizes its key with the crate's `zeroize` feature); `Debug` prints nothing secret.
pub(super) struct DataKey {
    /// Kept only to re-wrap under another key store.
    master: Zeroizing<[u8; KEY_LEN]>,
    aead: XChaCha20Poly1305,
    /// Keys the HMAC that turns server ids into row tags, so ids are not readable in the file.
    index: Zeroizing<[u8; KEY_LEN]>,
    /// Keys the HMAC that marks each row for the row digest (`digest`).
    rows: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    /// A fresh random key for a new store.
    pub(super) fn generate() -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        fill_random(&mut bytes[..])?;
        Self::from_bytes(&bytes[..])
    }

    /// The key as unwrapped by the key store; anything but 32 bytes is a damaged store.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let master: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| StoreError::KeyWrap(KeyWrapError::BadKeyLength))?;
        let master = Zeroizing::new(master);
        let enc = derive(&master[..], b"EDL1/store/seal");
        let aead = XChaCha20Poly1305::new_from_slice(&enc[..]).expect("32-byte key");
        let index = derive(&master[..], b"EDL1/store/item-id");
        let rows = derive(&master[..], b"EDL1/store/row-digest");
        Ok(DataKey {
            master,
            aead,
            index,
            rows,
        })
    }

    /// The raw key, for wrapping only.
    pub(super) fn master(&self) -> &[u8] {
        &self.master[..]
    }

    /// The row tag of item `id` in `list`: equal ids give equal tags (so upserts find their
    /// row), but the file shows neither the id nor which items of two wallets match.
    pub(super) fn id_tag(&self, list: &str, id: &str) -> [u8; KEY_LEN] {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.index[..])
            .expect("HMAC accepts any key length");
        mac.update(&(list.len() as u32).to_be_bytes());
        mac.update(list.as_bytes());
        mac.update(id.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A fresh HMAC-SHA256 under the row-digest key, for `digest` to mark one row with. Only
    /// the holder of the data key can mark a row, so no one else can make a set of rows
    /// match a digest.
    pub(super) fn row_mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.rows[..])
            .expect("HMAC accepts any key length")
    }

    /// Encrypts `plaintext` for `slot` under a fresh random nonce.
    pub(super) fn seal(&self, slot: Slot<'_>, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let ad = slot.associated_data();
        let ciphertext = self
            .aead
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: &ad,
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .map_err(|_| StoreError::Conversion(super::error::Conversion::Encode))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts a value sealed for `slot`; anything altered, truncated or moved is
    /// [`Corruption::Unauthentic`].
    pub(super) fn open(
        &self,
        slot: Slot<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        const UNAUTHENTIC: StoreError = StoreError::Corrupt(Corruption::Unauthentic);
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(UNAUTHENTIC);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN]
            .try_into()
            .map_err(|_| UNAUTHENTIC)?;
        let ad = slot.associated_data();
        self.aead
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: &ad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| UNAUTHENTIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes(&[9; KEY_LEN]).unwrap()
    }

    #[test]
    fn sealed_value_opens_in_its_own_slot_only() {
        let k = key();
        let tag = k.id_tag("record", "r-1");
        let other_tag = k.id_tag("record", "r-2");
        let slots = [
            Slot::KeyCheck,
            Slot::RowDigest,
            Slot::Doc("licence"),
            Slot::Doc("credential"),
            Slot::Secret("licence"),
            Slot::Item {
                list: "record",
                id_tag: &tag,
                seq: 1,
            },
            Slot::Item {
                list: "record",
                id_tag: &tag,
                seq: 2,
            },
            Slot::Item {
                list: "record",
                id_tag: &other_tag,
                seq: 1,
            },
            Slot::Item {
                list: "messages",
                id_tag: &tag,
                seq: 1,
            },
        ];
        for (i, a) in slots.iter().enumerate() {
            let sealed = k.seal(*a, b"value").unwrap();
            for (j, b) in slots.iter().enumerate() {
                let opened = k.open(*b, &sealed);
                if i == j {
                    assert_eq!(&opened.unwrap()[..], b"value");
                } else {
                    assert_eq!(
                        opened.unwrap_err(),
                        StoreError::Corrupt(Corruption::Unauthentic),
                        "{a:?} opened as {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn any_flipped_bit_or_truncation_is_unauthentic() {
        let k = key();
        let sealed = k.seal(Slot::Doc("licence"), b"some personal data").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(k.open(Slot::Doc("licence"), &bad).is_err(), "byte {i}");
        }
        for n in 0..sealed.len() {
            assert!(k.open(Slot::Doc("licence"), &sealed[..n]).is_err());
        }
    }

    #[test]
    fn another_key_cannot_open() {
        let sealed = key().seal(Slot::Secret("seed"), b"s").unwrap();
        let other = DataKey::from_bytes(&[8; KEY_LEN]).unwrap();
        assert!(other.open(Slot::Secret("seed"), &sealed).is_err());
    }

    #[test]
    fn nonces_differ_between_seals_of_the_same_value() {
        let k = key();
        let a = k.seal(Slot::Doc("d"), b"same").unwrap();
        let b = k.seal(Slot::Doc("d"), b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn id_tags_separate_lists_and_ids() {
        let k = key();
        assert_ne!(k.id_tag("record", "1"), k.id_tag("messages", "1"));
        assert_ne!(k.id_tag("ab", "c"), k.id_tag("a", "bc"));
        assert_eq!(k.id_tag("record", "1"), k.id_tag("record", "1"));
    }

    /// Only the key store hands a data key over, so a key of the wrong length is its fault,
    /// not the file's (the third hostile review, F6: it was a damaged store, whose answer
    /// is to wipe the wallet).
    #[test]
    fn data_key_of_wrong_length_is_a_key_store_fault() {
        assert_eq!(
            DataKey::from_bytes(&[1; 31]).unwrap_err(),
            StoreError::KeyWrap(KeyWrapError::BadKeyLength)
        );
        assert!(!format!("{:?}", key()).contains('9'));
    }
}
