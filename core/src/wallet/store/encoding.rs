//! What a row holds: the checks on names and ids, and values as JSON (items with their id
//! inside the seal).

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::error::{Conversion, Corruption, StoreError};

const MAX_NAME_LEN: usize = 64;
const MAX_ID_LEN: usize = 256;

/// An item of a list with its id, as returned by
/// [`StoreRead::list_items`](super::StoreRead::list_items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem<T> {
    /// The id given to [`WriteTx::upsert_item`](super::WriteTx::upsert_item) (the server's
    /// id for the entry).
    pub id: String,
    /// The item.
    pub value: T,
}

/// Names of documents, secrets and lists are the program's own constants: short ASCII,
/// so they can sit in the file in clear and in associated data unambiguously.
pub(super) fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName)
    }
}

/// Item ids come from the server: any text, bounded so the store stays predictable.
pub(super) fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        Err(StoreError::InvalidName)
    } else {
        Ok(())
    }
}

pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Conversion(Conversion::Encode))
}

pub(super) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    // serde's message quotes the value it choked on, so it is dropped here.
    serde_json::from_slice(bytes).map_err(|_| StoreError::Conversion(Conversion::Decode))
}

/// Item plaintext: `id length (u16 BE) || id || JSON`. The id travels inside the seal so
/// the file holds only its keyed tag.
pub(super) fn encode_item<T: Serialize + ?Sized>(
    id: &str,
    value: &T,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let json = to_json(value)?;
    let mut out = Zeroizing::new(Vec::with_capacity(2 + id.len() + json.len()));
    out.extend_from_slice(&(id.len() as u16).to_be_bytes());
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

pub(super) fn decode_item<T: DeserializeOwned>(plain: &[u8]) -> Result<ListItem<T>, StoreError> {
    // Authenticated bytes we wrote; a mismatch means a bug or a foreign writer with the key.
    let bad = StoreError::Corrupt(Corruption::Unauthentic);
    let len = plain
        .get(..2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or(bad.clone())?;
    let id = plain.get(2..2 + len).ok_or(bad.clone())?;
    let id = std::str::from_utf8(id).map_err(|_| bad)?.to_owned();
    let value = from_json(&plain[2 + len..])?;
    Ok(ListItem { id, value })
}

/// An item's id tag as read from its row.
pub(super) fn tag_of(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(Corruption::Unauthentic))
}
